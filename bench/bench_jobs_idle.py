"""Idle Jobs tabs benchmark: what open, idle Jobs tabs cost the server and a chat in another tab.

Run on purpose (not in CI)::

    python bench/bench_jobs_idle.py [--tabs 0 3] [--runs 5] [--window-s 20] [--before REF]

One database is seeded with ``--results`` (260) webhook results, six of them 7 to 9.5 MB, and
no unfinished job (the state the Jobs page sits in most of the time). For each variant and each
N in ``--tabs``, a fresh ``streamlit run app.py`` (the e2e harness's server) serves a copy of
that database, N headless Chromium tabs open the Jobs page and are left alone, and then:

* **server CPU**: the server process's CPU time (psutil, user + system) over ``--window-s``
  seconds of idling, as a percentage of one core;
* **chat first token**: in another tab, a chat message is sent ``--runs`` times (the bench_chat
  probe: Enter -> first answer text in the DOM); median, emulator first-token delay 0.

Variants: ``after`` is this checkout; with ``--before REF`` (e.g. a commit from before the
Jobs page polled only what changed), the same steps run first on ``git archive REF``, in the
same run, as the baseline. The emulator runs as its own process (its CPU is not the app's).
The machine may be shared: compare the rows of one run, not runs of different days.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for path in (str(REPO_ROOT), str(BENCH_DIR)):
    if path not in sys.path:
        sys.path.insert(0, path)

from bench_chat import (  # noqa: E402 - after the path set-up
    NO_REASONING,
    PROBE_JS,
    RUN_TIMEOUT_MS,
    App,
    configure,
    emulator_process,
    open_page,
)
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, wait_for_app_idle  # noqa: E402

LARGE_MB = (7.0, 7.5, 8.0, 8.5, 9.0, 9.5)


# --- seeding ----------------------------------------------------------------------------------


def seed(data_dir: Path, count: int) -> None:
    """``count`` delivered results through the app's own storage; six large ones."""
    from chatapp.settings import AppConfig
    from chatapp.storage import jobs as store
    from chatapp.storage.db import init_db, make_engine, session_scope

    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(AppConfig.load({}, {"BASETEN_CHAT_DATA_DIR": str(data_dir)}).database_url)
    init_db(engine)
    sent = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for n in range(count):
        big = n % (count // len(LARGE_MB)) == 0 and n // (count // len(LARGE_MB)) < len(LARGE_MB)
        size = int(LARGE_MB[n // (count // len(LARGE_MB))] * 1_000_000) if big else 1500
        data = {"output": f"result {n} " + "lorem ipsum dolor sit amet " * (size // 27)}
        body = {
            "request_id": f"{n:032x}",
            "model_id": "abcd1234",
            "deployment_id": "dep12345",
            "type": "async_request_completed",
            "time": sent,
            "data": data,
            "errors": [],
        }
        with session_scope(engine) as session:
            store.store_webhook_result(
                session,
                request_id=body["request_id"],
                raw_body=json.dumps(body),
                data=data,
                errors=[],
                model_id="abcd1234",
                deployment_id="dep12345",
            )
    engine.dispose()


# --- the app, from a given source tree --------------------------------------------------------


class TreeApp(App):
    """The bench_chat app server, run from ``tree`` (this checkout or an archived commit)."""

    def __init__(self, emulator: str, data_dir: Path, log_path: Path, tree: Path) -> None:
        super().__init__(emulator, data_dir, log_path)
        self.tree = tree
        self.env["PYTHONPATH"] = str(tree)

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command, cwd=self.tree, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self._wait_healthy()


def archive(ref: str, into: Path) -> Path:
    """The source tree of ``ref`` (``git archive``), without touching any checkout."""
    data = subprocess.run(
        ["git", "archive", ref], cwd=REPO_ROOT, check=True, capture_output=True
    ).stdout
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


# --- one measurement --------------------------------------------------------------------------


def first_token_ms(page: Page, text: str) -> float:
    """bench_chat's probe, with every wait as long as a busy server may need: a new, empty
    conversation, then Enter -> first answer text in the DOM."""
    page.locator(".st-key-chat_new button").click()
    wait_for_app_idle(page, RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("stChatMessage")).to_have_count(0, timeout=RUN_TIMEOUT_MS)
    page.evaluate(PROBE_JS)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")
    page.wait_for_function("() => window.__bench.first !== null", timeout=RUN_TIMEOUT_MS)
    wait_for_app_idle(page, RUN_TIMEOUT_MS)
    return page.evaluate(
        "() => { window.__bench.observer.disconnect(); "
        "return window.__bench.first - window.__bench.enter; }"
    )


def cpu_seconds(pid: int) -> float:
    proc = psutil.Process(pid)
    total = sum(proc.cpu_times()[:2])
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += sum(child.cpu_times()[:2])
    return total


def open_jobs_tab(browser: Browser, url: str) -> Page:
    page = open_page(browser, url)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Jobs", exact=True).click()
    wait_for_app_idle(page, RUN_TIMEOUT_MS)
    page.get_by_text("results received").first.wait_for(timeout=RUN_TIMEOUT_MS)
    return page


def measure(
    browser: Browser,
    emulator: str,
    tree: Path,
    template: Path,
    work: Path,
    name: str,
    tabs: int,
    runs: int,
    window_s: float,
) -> dict[str, float]:
    data_dir = work / f"{name}_{tabs}"
    shutil.copytree(template, data_dir)
    app = TreeApp(emulator, data_dir, work / f"{name}_{tabs}.log", tree)
    app.start()
    opened: list[Page] = []
    try:
        chat = open_page(browser, app.url)
        first_token_ms(chat, "warm up the page")
        opened = [open_jobs_tab(browser, app.url) for _ in range(tabs)]
        time.sleep(5)  # let first loads finish; then the tabs are idle
        assert app.process is not None
        before = cpu_seconds(app.process.pid)
        time.sleep(window_s)
        cpu_pct = 100 * (cpu_seconds(app.process.pid) - before) / window_s
        firsts = [first_token_ms(chat, f"bench idle jobs {i}") for i in range(runs)]
        chat.context.close()
        return {"cpu_pct": cpu_pct, "first_ms": statistics.median(firsts)}
    finally:
        for page in opened:
            page.context.close()
        app.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, nargs="+", default=[0, 3])
    parser.add_argument("--runs", type=int, default=5, help="chat messages per measurement")
    parser.add_argument("--window-s", type=float, default=20.0, help="idle CPU window")
    parser.add_argument("--results", type=int, default=260)
    parser.add_argument("--before", help="git ref measured first as the baseline")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_jobs_idle_"))
    template = work / "seeded"
    started = time.perf_counter()
    seed(template, args.results)
    size = sum(f.stat().st_size for f in template.rglob("*") if f.is_file()) / 1e6
    print(
        f"seeded {args.results} results ({size:.0f} MB) in {time.perf_counter() - started:.0f} s;"
        f" logs in {work}",
        flush=True,
    )
    variants = [("after", REPO_ROOT)]
    if args.before:
        variants.insert(0, (f"before ({args.before})", archive(args.before, work / "before")))
    rows: list[tuple[str, int, dict[str, float]]] = []
    with emulator_process() as emulator, sync_playwright() as pw:
        configure(
            emulator,
            first_token_delay_s=0.0,
            tokens_per_second=100.0,
            reply_tokens=24,
            **NO_REASONING,
        )
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for name, tree in variants:
                for tabs in args.tabs:
                    figures = measure(
                        browser,
                        emulator,
                        tree,
                        template,
                        work,
                        name.split()[0],
                        tabs,
                        args.runs,
                        args.window_s,
                    )
                    rows.append((name, tabs, figures))
                    print(
                        f"  {name}, {tabs} idle Jobs tab(s): server CPU "
                        f"{figures['cpu_pct']:.0f} % of a core, chat first token "
                        f"{figures['first_ms']:.0f} ms",
                        flush=True,
                    )
        finally:
            browser.close()
    print()
    print("| code | idle Jobs tabs | server CPU (% of a core) | chat first token (median) |")
    print("|---|---|---|---|")
    for name, tabs, figures in rows:
        print(f"| {name} | {tabs} | {figures['cpu_pct']:.0f} % | {figures['first_ms']:.0f} ms |")


if __name__ == "__main__":
    main()

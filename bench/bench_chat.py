"""Chat page benchmark: the real app in headless Chromium against the emulator.

Run on purpose (not in CI): ``python bench/bench_chat.py [--runs 9] [--rate-runs 3]
[--rounds 3]``. Prints one table. Every figure is a median of several runs, and each has a
baseline measured side by side in the same run (runs are interleaved), because the machine
may be busy with other work:

1. **Added latency to first token.** The emulator waits ``--delay-ms`` (300) before the first
   token. In the browser, a keydown listener records ``performance.now()`` when Enter is
   pressed in the chat input and a MutationObserver records when the new assistant bubble
   first shows answer text (and the next animation frame after it: "painted"). Floor: a plain
   httpx streaming client, request sent -> first SSE content chunk. Added = browser - floor.
   Target: under 150 ms.
2. **On-screen rate of a 1,000-token answer** at ``--rate`` (100) tokens/s: the page counts
   the words of the answer on every DOM change; rate = (words at last - words at first) /
   (t_last - t_first), against the emulator's configured rate and against a raw httpx
   client's rate measured the same way in the same run. Target: >= 90 %.
3. **Cold start to first paint:** spawn ``streamlit run app.py`` (empty data dir) -> chat
   input visible in a fresh page of an already running browser.
4. **Server RSS** (psutil, children included) with 20 conversations x 50 messages seeded
   through the app's own services, after opening the app and after clicking through a few
   conversations and the search; baseline: the same steps with an empty database.
5. **No torch on the chat page:** after the chat runs, the server's ``/proc/<pid>/maps`` is
   searched for ``libtorch``; then the Documents page is opened and it is searched again.

The emulator runs as its own process (its CPU is not the app's); the harness pieces (how the
app is started, Chromium's flags, "the script has finished") come from tests/e2e/conftest.py.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from tests.e2e.conftest import (  # noqa: E402 - after the path set-up
    CHROMIUM,
    CHROMIUM_ARGS,
    AppServer,
    free_port,
    wait_for_app_idle,
)

API_KEY = "emulator-key"
SLUG = "deepseek-ai/DeepSeek-V3.1"  # the app's default Model API
#: The default model reasons in the emulator; the bench measures answer tokens only.
NO_REASONING = {"models": {SLUG: {"reasoning": False}}}
TTFT_REPLY_TOKENS = 24
RATE_REPLY_TOKENS = 1000
SEED_CONVERSATIONS = 20
SEED_MESSAGES = 50  # per conversation: 25 questions, 25 answers
CLICK_CONVERSATIONS = 5
RUN_TIMEOUT_MS = 120_000
ADDED_TARGET_MS = 150.0
RATE_TARGET_PCT = 90.0


# --- small helpers ----------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def p90(values: list[float]) -> float:
    """Nearest-rank 90th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def tree_rss(pid: int) -> int:
    """RSS of a process and all its children, in bytes."""
    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        with suppress(psutil.NoSuchProcess):
            total += child.memory_info().rss
    return total


def torch_probe_works() -> bool:
    """Positive control for :func:`loads_torch`: a process that imports torch is detected."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys, torch; print('ok', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        return loads_torch(proc.pid)
    finally:
        proc.kill()
        proc.wait(timeout=10)


def loads_torch(pid: int) -> bool:
    """True if the process (or a child) has a libtorch shared object mapped."""
    pids = [pid] + [c.pid for c in psutil.Process(pid).children(recursive=True)]
    for one in pids:
        try:
            if "libtorch" in Path(f"/proc/{one}/maps").read_text():
                return True
        except OSError:
            pass
    return False


# --- emulator (own process) -------------------------------------------------------------------


@contextmanager
def emulator_process() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "baseten_llm.emulator", "--port", str(port), "--api-key", API_KEY],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                httpx.get(f"{base}/_emulator/config", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the emulator did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def configure(base: str, **values: Any) -> None:
    httpx.post(f"{base}/_emulator/config", json=values, timeout=5).raise_for_status()


def raw_stream(base: str, text: str) -> tuple[float, list[tuple[float, int]]]:
    """Stream one answer with plain httpx: (request sent -> first content chunk in s,
    [(time, words so far)] per content chunk)."""
    import json

    body = {
        "model": SLUG,
        "messages": [{"role": "user", "content": text}],
        "stream": True,
        "max_tokens": 4096,
    }
    samples: list[tuple[float, int]] = []
    words = 0
    with httpx.Client(timeout=120) as client:
        started = time.perf_counter()
        with client.stream(
            "POST",
            f"{base}/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as resp:
            resp.raise_for_status()
            for line in resp.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                choices = chunk.get("choices") or []
                content = choices[0].get("delta", {}).get("content") if choices else None
                if content:
                    now = time.perf_counter()
                    words += len(content.split())
                    samples.append((now, words))
    return samples[0][0] - started, samples


def last_chat_request_time(base: str) -> float:
    """When the emulator received the newest chat request (epoch seconds)."""
    log = httpx.get(f"{base}/_emulator/requests", timeout=5).json()
    entries = log if isinstance(log, list) else log.get("requests", [])
    return [e for e in entries if e["path"].endswith("/chat/completions")][-1]["time"]


def rate_of(samples: list[tuple[float, int]]) -> float:
    """(words at last - words at first) / (t_last - t_first); t_last = first reach of the max."""
    (t0, n0) = samples[0]
    top = max(n for _, n in samples)
    t1 = next(t for t, n in samples if n == top)
    return (top - n0) / (t1 - t0)


# --- the app ----------------------------------------------------------------------------------


class App(AppServer):
    """``streamlit run app.py`` against the emulator (the e2e harness's server), on a data dir
    of our choice, polled finely for health and with its RSS taken as soon as it is healthy."""

    def __init__(self, emulator: str, data_dir: Path, log_path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BASETEN_", "STREAMLIT_"))}
        env.update(
            BASETEN_API_KEY=API_KEY,
            BASETEN_MODEL_APIS_URL=f"{emulator}/v1",
            BASETEN_DEPLOYMENT_URL=f"{emulator}/model-{{model_id}}",
            BASETEN_CHAT_DATA_DIR=str(data_dir),
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            PYTHONUNBUFFERED="1",
        )
        super().__init__(
            port=free_port(), data_dir=data_dir, log_path=log_path, env=env, poll_s=0.02
        )
        self.rss_at_health = 0.0  # MiB, before any browser session

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        super().start()
        self.rss_at_health = tree_rss(self.pid) / 2**20


def open_page(browser: Browser, url: str) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(RUN_TIMEOUT_MS)
    page = context.new_page()
    page.goto(url)
    wait_for_app_idle(page, RUN_TIMEOUT_MS)
    return page


# --- in-page probes ---------------------------------------------------------------------------

#: Installed before a message is sent: Enter's time, then every change of the new answer's
#: word count, with the time of the DOM change and of the next animation frame.
PROBE_JS = """
() => {
  const b = window.__bench = {enter: null, first: null, firstPaint: null, samples: []};
  const onKey = (e) => {
    if (e.key === 'Enter' && !e.shiftKey && b.enter === null) b.enter = performance.now();
  };
  document.addEventListener('keydown', onKey, true);
  const answerWords = () => {
    let best = 0;
    for (const bubble of document.querySelectorAll('[data-testid="stChatMessage"]')) {
      for (const md of bubble.querySelectorAll('[data-testid="stMarkdownContainer"]')) {
        const text = md.textContent.replace('▌', '').trim();
        if (text.startsWith('You')) best = Math.max(best, text.split(/\\s+/).length);
      }
    }
    return best;
  };
  let last = 0;
  const check = () => {
    const n = answerWords();
    if (n === last) return;
    last = n;
    const now = performance.now();
    b.samples.push([now, n]);
    if (b.first === null && n > 0) {
      b.first = now;
      requestAnimationFrame(() => { b.firstPaint = performance.now(); });
    }
  };
  b.observer = new MutationObserver(check);
  b.observer.observe(document.body, {childList: true, subtree: true, characterData: true});
}
"""


def new_chat(page: Page) -> None:
    """Start an empty conversation (same state for every run)."""
    page.locator(".st-key-chat_new button").click()
    wait_for_app_idle(page, RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("stChatMessage")).to_have_count(0)


def browser_send(page: Page, text: str) -> dict[str, Any]:
    """Send ``text`` through the chat input and collect the probe's record once idle."""
    new_chat(page)
    page.evaluate(PROBE_JS)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")
    page.wait_for_function("() => window.__bench.first !== null", timeout=RUN_TIMEOUT_MS)
    # the stream ends with a rerun; wait for it, then for the page to settle
    page.wait_for_timeout(300)
    wait_for_app_idle(page, RUN_TIMEOUT_MS)
    page.wait_for_function("() => window.__bench.firstPaint !== null", timeout=RUN_TIMEOUT_MS)
    return page.evaluate(
        "() => { window.__bench.observer.disconnect(); "
        "const b = window.__bench; return {enter: b.enter, first: b.first, "
        "firstPaint: b.firstPaint, samples: b.samples, "
        "origin: performance.timeOrigin}; }"
    )


# --- the phases -------------------------------------------------------------------------------


def measure_ttft(page: Page, emulator: str, runs: int, delay_ms: float) -> dict[str, list[float]]:
    configure(
        emulator,
        first_token_delay_s=delay_ms / 1000,
        tokens_per_second=100.0,
        reply_tokens=TTFT_REPLY_TOKENS,
        **NO_REASONING,
    )
    out: dict[str, list[float]] = {"floor": [], "dom": [], "paint": [], "to_request": []}
    browser_send(page, "warm up the page")  # first run of a session pays one-off imports
    for i in range(runs):
        floor_s, _ = raw_stream(emulator, f"bench first token {i}")
        out["floor"].append(floor_s * 1000)
        rec = browser_send(page, f"bench first token {i}")
        out["dom"].append(rec["first"] - rec["enter"])
        out["paint"].append(rec["firstPaint"] - rec["enter"])
        # same machine clock: the emulator logs time.time() when the request arrives
        arrived = last_chat_request_time(emulator) * 1000
        out["to_request"].append(arrived - (rec["origin"] + rec["enter"]))
        print(
            f"  ttft run {i + 1}/{runs}: floor {out['floor'][-1]:.0f} ms, "
            f"browser {out['paint'][-1]:.0f} ms",
            flush=True,
        )
    return out


def measure_rate(page: Page, emulator: str, runs: int, rate: float) -> dict[str, list[float]]:
    configure(
        emulator,
        first_token_delay_s=0.0,
        tokens_per_second=rate,
        reply_tokens=RATE_REPLY_TOKENS,
        **NO_REASONING,
    )
    out: dict[str, list[float]] = {"raw": [], "browser": [], "words": []}
    for i in range(runs):
        _, samples = raw_stream(emulator, f"bench rate {i}")
        out["raw"].append(rate_of(samples))
        rec = browser_send(page, f"bench rate {i}")
        pts = [(t / 1000.0, n) for t, n in rec["samples"]]
        out["browser"].append(rate_of(pts))
        out["words"].append(float(max(n for _, n in pts)))
        print(
            f"  rate run {i + 1}/{runs}: raw {out['raw'][-1]:.1f}/s, "
            f"browser {out['browser'][-1]:.1f}/s ({out['words'][-1]:.0f} words)",
            flush=True,
        )
    return out


def seed_database(data_dir: Path) -> None:
    """20 conversations x 50 messages, written through the app's own services."""
    from chatapp.services import conversations as convs
    from chatapp.services import personas
    from chatapp.services.chat import ReplyMetrics
    from chatapp.storage.db import init_db, make_engine
    from chatapp.targets import Target
    from chatapp.users import LOCAL_OWNER

    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{data_dir / 'baseten_chat.db'}")
    init_db(engine)
    personas.ensure_builtins(engine)
    persona = personas.default_persona(engine)
    target = {**Target().to_dict(), "label": Target().label}
    filler = [
        "a",
        "test",
        "double",
        "streams",
        "these",
        "filler",
        "words",
        "so",
        "that",
        "every",
        "stored",
        "answer",
        "has",
        "a",
        "realistic",
        "length",
        "for",
        "the",
        "page",
        "to",
        "draw",
    ]
    for c in range(SEED_CONVERSATIONS):
        conversation = convs.create_conversation(engine, persona, owner=LOCAL_OWNER)
        for q in range(SEED_MESSAGES // 2):
            question = f"Question {q} in conversation {c}: how does topic{c}x{q} work in practice?"
            convs.add_user_message(engine, conversation.id, question, owner=LOCAL_OWNER)
            answer = f"You said: {question} " + " ".join(
                filler[(i + q) % len(filler)] for i in range(180)
            )
            message_id = convs.start_answer(engine, conversation.id, target, owner=LOCAL_OWNER)
            metrics = ReplyMetrics(
                ttft_s=0.3,
                total_s=2.1,
                tokens_in=40 + q * 200,
                tokens_out=190,
                tokens_per_s=100.0,
                finish_reason="stop",
            )
            convs.finish_answer(
                engine,
                message_id,
                text=answer,
                reasoning="",
                status="complete",
                metrics=metrics.to_dict(),
                owner=LOCAL_OWNER,
            )
    engine.dispose()


def browse(page: Page, clicks: int) -> None:
    """Click through ``clicks`` conversations of the sidebar, then search, then clear it."""
    buttons = page.locator('[data-testid="stSidebar"] [class*="st-key-chat_open_"] button')
    count = min(clicks, buttons.count())
    for i in range(count):
        buttons.nth(i * 3 % max(1, buttons.count())).click()
        wait_for_app_idle(page, RUN_TIMEOUT_MS)
        # the seeded conversation is really on screen, all of it
        expect(page.get_by_test_id("stChatMessage")).to_have_count(SEED_MESSAGES)
    search = page.locator(".st-key-chat_search input")
    for query in ("topic7x", "realistic length", ""):
        search.fill(query)
        search.press("Enter")
        wait_for_app_idle(page, RUN_TIMEOUT_MS)
    if count:
        buttons.first.click()
        wait_for_app_idle(page, RUN_TIMEOUT_MS)


def memory_round(browser: Browser, app: App) -> dict[str, float]:
    mib = 1024 * 1024
    out = {"idle": app.rss_at_health}
    page = open_page(browser, app.url)
    out["opened"] = tree_rss(app.pid) / mib
    browse(page, CLICK_CONVERSATIONS)
    time.sleep(0.5)
    out["browsed"] = tree_rss(app.pid) / mib
    page.context.close()
    return out


def cold_start(browser: Browser, app: App) -> tuple[float, float]:
    """Spawn -> healthy, spawn -> chat input visible in a fresh page (seconds)."""
    app.start()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(app.url)
    page.get_by_test_id("stChatInputTextArea").wait_for(state="visible", timeout=RUN_TIMEOUT_MS)
    visible = time.perf_counter()
    context.close()
    return app.healthy_at - app.spawned_at, visible - app.spawned_at


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="first-token runs (>= 7)")
    parser.add_argument("--rate-runs", type=int, default=3, help="1,000-token runs")
    parser.add_argument("--rounds", type=int, default=3, help="cold starts and memory rounds")
    parser.add_argument("--delay-ms", type=float, default=300.0)
    parser.add_argument("--rate", type=float, default=100.0, help="emulator tokens/s")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_chat_"))
    seeded_template = work / "seeded_template"
    t = time.perf_counter()
    seed_database(seeded_template)
    print(
        f"seeded {SEED_CONVERSATIONS}x{SEED_MESSAGES} messages in "
        f"{time.perf_counter() - t:.1f} s; logs in {work}",
        flush=True,
    )

    cold: list[tuple[float, float]] = []
    mem_empty: list[dict[str, float]] = []
    mem_seeded: list[dict[str, float]] = []
    with emulator_process() as emulator, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # 3 + 4: cold start (empty DB) then memory, seeded and empty, alternating
            for r in range(args.rounds):
                empty = App(emulator, work / f"empty{r}", work / f"empty{r}.log")
                try:
                    cold.append(cold_start(browser, empty))
                    mem_empty.append(memory_round(browser, empty))
                finally:
                    empty.stop()
                shutil.copytree(seeded_template, work / f"seeded{r}")
                seeded = App(emulator, work / f"seeded{r}", work / f"seeded{r}.log")
                try:
                    seeded.start()
                    mem_seeded.append(memory_round(browser, seeded))
                finally:
                    seeded.stop()
                print(
                    f"  round {r + 1}/{args.rounds}: cold start {cold[-1][1]:.2f} s, "
                    f"RSS empty {mem_empty[-1]['browsed']:.0f} MiB, "
                    f"seeded {mem_seeded[-1]['browsed']:.0f} MiB",
                    flush=True,
                )

            # 1 + 2 + 5 on one server
            app = App(emulator, work / "chat", work / "chat.log")
            app.start()
            try:
                page = open_page(browser, app.url)
                torch_at_open = loads_torch(app.pid)
                ttft = measure_ttft(page, emulator, args.runs, args.delay_ms)
                rate = measure_rate(page, emulator, args.rate_runs, args.rate)
                torch_after_chat = loads_torch(app.pid)
                nav = page.locator('[data-testid="stSidebarNav"]')
                nav.get_by_text("Documents", exact=True).click()
                wait_for_app_idle(page, RUN_TIMEOUT_MS)
                time.sleep(2.0)
                torch_after_docs = loads_torch(app.pid)
                page.context.close()
            finally:
                app.stop()
        finally:
            browser.close()

    report(
        args,
        ttft,
        rate,
        cold,
        mem_empty,
        mem_seeded,
        (torch_at_open, torch_after_chat, torch_after_docs, torch_probe_works()),
    )
    shutil.rmtree(work, ignore_errors=True)


def report(
    args: argparse.Namespace,
    ttft: dict[str, list[float]],
    rate: dict[str, list[float]],
    cold: list[tuple[float, float]],
    mem_empty: list[dict[str, float]],
    mem_seeded: list[dict[str, float]],
    torch: tuple[bool, ...],
) -> None:
    added = [b - f for b, f in zip(ttft["paint"], ttft["floor"])]
    added_dom = [b - f for b, f in zip(ttft["dom"], ttft["floor"])]
    rows: list[tuple[str, str, str]] = []

    def row(name: str, value: str, note: str = "") -> None:
        rows.append((name, value, note))

    n = len(ttft["floor"])
    row(f"1. First token (emulator delay {args.delay_ms:.0f} ms), {n} runs", "median / p90", "")
    row(
        "   floor: httpx request -> first content chunk",
        f"{median(ttft['floor']):.0f} / {p90(ttft['floor']):.0f} ms",
    )
    row(
        "   browser: Enter -> answer text in DOM",
        f"{median(ttft['dom']):.0f} / {p90(ttft['dom']):.0f} ms",
    )
    row(
        "   browser: Enter -> next frame (on screen)",
        f"{median(ttft['paint']):.0f} / {p90(ttft['paint']):.0f} ms",
    )
    row(
        "   browser - emulator delay",
        f"{median(ttft['paint']) - args.delay_ms:.0f} / {p90(ttft['paint']) - args.delay_ms:.0f}"
        " ms",
    )
    ok = median(added) < ADDED_TARGET_MS
    req = ttft["to_request"]
    after = [p - q - args.delay_ms for p, q in zip(ttft["paint"], req)]
    row(
        "   of which Enter -> request reaches emulator",
        f"{median(req):.0f} / {p90(req):.0f} ms",
        "script rerun + DB writes + client setup",
    )
    row(
        "   of which request -> on screen, minus delay",
        f"{median(after):.0f} / {p90(after):.0f} ms",
        f"floor minus delay: {median(ttft['floor']) - args.delay_ms:.0f} ms",
    )
    row(
        "   ADDED by the app (browser - floor, per run)",
        f"{median(added):.0f} / {p90(added):.0f} ms",
        f"target < {ADDED_TARGET_MS:.0f} ms: {'MET' if ok else 'MISSED'}"
        f" (DOM only: {median(added_dom):.0f} ms)",
    )
    m = len(rate["raw"])
    raw_rate, br_rate = median(rate["raw"]), median(rate["browser"])
    row(f"2. {RATE_REPLY_TOKENS}-token answer at {args.rate:g} tok/s, {m} runs", "median", "")
    row(
        "   raw httpx client rate",
        f"{raw_rate:.1f} tok/s",
        f"{100 * raw_rate / args.rate:.0f}% of configured",
    )
    pct_cfg = 100 * br_rate / args.rate
    pct_raw = 100 * median([b / r for b, r in zip(rate["browser"], rate["raw"])])
    row(
        "   on-screen rate in the browser",
        f"{br_rate:.1f} tok/s",
        f"words on screen: {median(rate['words']):.0f}",
    )
    row(
        "   on-screen / configured",
        f"{pct_cfg:.0f}%",
        f"target >= {RATE_TARGET_PCT:.0f}%: {'MET' if pct_cfg >= RATE_TARGET_PCT else 'MISSED'}",
    )
    row(
        "   on-screen / raw client (same run)",
        f"{pct_raw:.0f}%",
        f"target >= {RATE_TARGET_PCT:.0f}%: {'MET' if pct_raw >= RATE_TARGET_PCT else 'MISSED'}",
    )
    k = len(cold)
    row(f"3. Cold start (empty data dir), {k} runs", "median", "")
    row("   spawn -> /_stcore/health OK", f"{median([c[0] for c in cold]):.2f} s")
    row(
        "   spawn -> chat input visible (fresh page)",
        f"{median([c[1] for c in cold]):.2f} s",
        "runs: " + ", ".join(f"{c[1]:.2f}" for c in cold),
    )
    row(f"4. Server RSS (tree), {len(mem_seeded)} rounds", "median", "")
    for key, label in (
        ("idle", "started, no session"),
        ("opened", "app opened"),
        ("browsed", f"after {CLICK_CONVERSATIONS} conversations + search"),
    ):
        e = median([x[key] for x in mem_empty])
        s = median([x[key] for x in mem_seeded])
        row(
            f"   {label}: empty DB / {SEED_CONVERSATIONS}x{SEED_MESSAGES} seeded",
            f"{e:.0f} / {s:.0f} MiB",
            f"seeded - empty: {s - e:+.0f} MiB",
        )
    s_growth = median([x["browsed"] - x["opened"] for x in mem_seeded])
    e_growth = median([x["browsed"] - x["opened"] for x in mem_empty])
    row("   growth while browsing: empty / seeded", f"{e_growth:+.0f} / {s_growth:+.0f} MiB")
    yn = {True: "yes", False: "no"}
    row("5. libtorch mapped in the server", "", "")
    row("   after opening the chat page", yn[torch[0]])
    row(
        "   after the chat runs",
        yn[torch[1]],
        "target: no: " + ("MET" if not torch[1] else "MISSED"),
    )
    row(
        "   after opening Documents (no collection yet)",
        yn[torch[2]],
        "torch belongs to the Documents page's local embedder only",
    )
    row(
        "   control: a process that imports torch",
        yn[torch[3]],
        "the probe works" if torch[3] else "PROBE BROKEN: the rows above mean nothing",
    )

    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    print()
    print(f"Baseten Chat page benchmark ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")
    print("-" * (w1 + w2 + 40))
    for name, value, note in rows:
        print(f"{name:<{w1}}  {value:>{w2}}  {note}".rstrip())


if __name__ == "__main__":
    main()

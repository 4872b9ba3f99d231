"""Two replicas of the app (two ``streamlit run app.py`` processes on their own ports and data
directories) against one PostgreSQL behave as one app, in a real browser:

- a conversation written on A shows on B after a reload;
- a webhook Baseten delivers to A shows on B's Jobs page, and while both pages refresh no job's
  status is asked for twice within the polling interval (the emulator's request log);
- an upload made on A is indexed exactly once (one queue row, one start, each chunk embedded
  once by the emulator's embeddings deployment);
- a replica killed (SIGKILL) in the middle of a slow file: the other one takes the file over
  once the lease runs out and finishes it.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, select

from baseten_llm.emulator import EmulatorServer
from chatapp.services import documents as docs
from chatapp.services.embedders import EmbedSpec
from chatapp.services.job_polling import POLL_INTERVAL_S
from chatapp.storage.db import init_db, make_engine, session_scope
from chatapp.storage.documents import DocumentFile
from chatapp.storage.upload_queue import QueuedUpload
from chatapp.users import LOCAL_OWNER
from tests.e2e.conftest import (
    WEBHOOK_SECRET,
    AppServer,
    free_port,
    open_app_page,
    sidebar,
    wait_for_app_idle,
)
from tests.e2e.test_chat_browser import last_bubble, send
from tests.e2e.test_jobs_page import choose, open_jobs_on_dedicated, submit_prompt

pytestmark = pytest.mark.e2e

LEASE_S = 6
INDEX_TIMEOUT_MS = 240_000
SENTENCE = "The lighthouse keeper trims the wick and logs every passing ship at night. "


@dataclass
class Replicas:
    a: AppServer
    b: AppServer
    engine: Engine
    root: Path

    def by_worker(self, worker_id: str) -> tuple[AppServer, AppServer]:
        """(the replica whose worker id this is, the other one)."""
        pid = int(worker_id.split(":")[1])
        if self.a.process is not None and self.a.process.pid == pid:
            return self.a, self.b
        return self.b, self.a


@pytest.fixture(scope="module")
def replicas(
    _e2e_emulator_server: EmulatorServer,
    postgres_server: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Replicas]:
    from tests.postgres import create_database

    emu = _e2e_emulator_server
    url = create_database(postgres_server, "replicas")
    engine = make_engine(url)
    init_db(engine)  # the deploy step: the schema exists before the replicas start
    root = tmp_path_factory.mktemp("replicas")
    servers = []
    for name in ("a", "b"):
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BASETEN_", "STREAMLIT_"))}
        env.update(
            BASETEN_API_KEY=emu.api_key,
            BASETEN_MODEL_APIS_URL=emu.model_apis_url,
            BASETEN_DEPLOYMENT_URL=emu.deployment_url,
            BASETEN_WEBHOOK_SECRETS=WEBHOOK_SECRET,
            BASETEN_CHAT_DATABASE_URL=url,
            BASETEN_CHAT_DATA_DIR=str(root / name / "data"),
            BASETEN_CHAT_PUBLIC_URL=f"http://127.0.0.1:{port}",
            BASETEN_CHAT_UPLOAD_LEASE_S=str(LEASE_S),
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            PYTHONUNBUFFERED="1",
        )
        server = AppServer(
            port=port, data_dir=root / name / "data", log_path=root / f"{name}.log", env=env
        )
        server.start()
        servers.append(server)
    try:
        yield Replicas(servers[0], servers[1], engine, root)
    finally:
        for server in servers:
            server.stop()
        engine.dispose()


@pytest.fixture()
def emulator(e2e_emulator: EmulatorServer) -> EmulatorServer:
    return e2e_emulator


def wait_until(condition: Any, timeout_s: float, explain: Any) -> None:
    """Poll ``condition`` (a look at the emulator's log) until true, generously."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, explain()
        time.sleep(0.5)


def screenshot(artifacts_dir: Path, name: str) -> Path:
    return artifacts_dir / f"replicas_{name}.png"


def test_a_conversation_written_on_one_replica_shows_on_the_other_after_a_reload(
    replicas: Replicas, browser: Browser, emulator: EmulatorServer, artifacts_dir: Path
) -> None:
    with open_app_page(browser, replicas.b.url, screenshot(artifacts_dir, "chat_b")) as on_b:
        with open_app_page(browser, replicas.a.url, screenshot(artifacts_dir, "chat_a")) as on_a:
            send(on_a, "Replica A asks: where is the lighthouse?")
            expect(last_bubble(on_a)).to_contain_text("You said: Replica A asks")
            wait_for_app_idle(on_a)
        on_b.reload()
        wait_for_app_idle(on_b)
        sidebar(on_b).get_by_role("button", name=re.compile("Replica A asks")).first.click()
        wait_for_app_idle(on_b)
        expect(on_b.get_by_test_id("stChatMessage")).to_have_count(2)
        expect(last_bubble(on_b)).to_contain_text("You said: Replica A asks")


def status_calls(emulator: EmulatorServer) -> dict[str, list[float]]:
    """When each job's status was asked for, by request id."""
    calls: dict[str, list[float]] = defaultdict(list)
    for entry in emulator.requests():
        if "/async_request/" in entry["path"] and entry["method"] == "GET":
            calls[entry["path"].rsplit("/", 1)[-1]].append(float(entry["time"]))
    return calls


def test_a_webhook_delivered_to_one_replica_shows_on_the_others_jobs_page_and_no_job_is_polled_twice(
    replicas: Replicas, browser: Browser, emulator: EmulatorServer, artifacts_dir: Path
) -> None:
    emulator.configure(hold_jobs=True)  # the jobs wait in Baseten's queue: both pages poll
    with (
        open_app_page(browser, replicas.a.url, screenshot(artifacts_dir, "jobs_a")) as on_a,
        open_app_page(browser, replicas.b.url, screenshot(artifacts_dir, "jobs_b")) as on_b,
    ):
        open_jobs_on_dedicated(on_b)
        hook = on_b.locator(".st-key-jobs_webhook_url input")
        hook.fill(f"{replicas.a.url}/hooks/baseten")  # Baseten delivers to replica A
        hook.press("Enter")
        wait_for_app_idle(on_b)
        first = submit_prompt(on_b, "first job from replica B")
        second = submit_another(on_b, "second job from replica B", first)
        open_jobs_on_dedicated(on_a)  # A's page refreshes and polls the same jobs too
        for page in (on_a, on_b):
            expect(
                page.get_by_text(re.compile(r"2 jobs · 0 results received · 2 waiting"))
            ).to_be_visible(timeout=30_000)

        def polled_enough() -> bool:
            calls = status_calls(emulator)
            return all(len(calls.get(rid, [])) >= 3 for rid in (first, second))

        wait_until(polled_enough, 120, lambda: status_calls(emulator))
        for request_id, times in status_calls(emulator).items():
            gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
            assert min(gaps) >= POLL_INTERVAL_S - 0.5, (request_id, gaps)

        emulator.release_jobs()
        expect(
            on_b.get_by_text(re.compile(r"2 jobs · 2 results received · 0 waiting"))
        ).to_be_visible(timeout=60_000)
        wait_for_app_idle(on_b)
        for request_id, prompt in ((first, "first job"), (second, "second job")):
            show_result(on_b, request_id, f"You said: {prompt} from replica B")
        delivered = {(w["url"], w["request_id"], w["status_code"]) for w in emulator.webhooks()}
        assert delivered == {
            (f"{replicas.a.url}/hooks/baseten", rid, 200) for rid in (first, second)
        }


def submit_another(page: Page, prompt: str, previous: str) -> str:
    """Submit a second job; its id, once the page has replaced the first job's message."""
    box = page.locator(".st-key-jobs_prompt textarea")
    box.fill(prompt)
    box.press("Control+Enter")
    wait_for_app_idle(page)
    page.locator(".st-key-jobs_submit button").click()
    success = page.get_by_test_id("stAlertContentSuccess").filter(has_text="Job submitted")
    expect(success).not_to_contain_text(previous)
    expect(success).to_contain_text(re.compile(r"[0-9a-f]{32}"))
    found = re.search(r"[0-9a-f]{32}", success.inner_text())
    assert found and found.group(0) != previous, success.inner_text()
    return found.group(0)


def show_result(page: Page, request_id: str, text: str) -> None:
    """Pick a result in the viewer and see its text (picked again if a refresh of the page
    raced with the first pick)."""
    viewer = page.get_by_test_id("stJson")
    for _ in range(3):
        choose(page, "Result", request_id)
        try:
            expect(viewer).to_contain_text(text, timeout=10_000)
            return
        except AssertionError:
            wait_for_app_idle(page)
    expect(viewer).to_contain_text(text)


def open_collection(page: Page, url: str, collection_id: str) -> None:
    """The documents page at the collection's address (no rerun pending that could redraw
    the uploader and drop files set on it)."""
    page.goto(f"{url}/documents?collection={collection_id}")
    wait_for_app_idle(page)
    expect(page.get_by_role("combobox", name="Collection")).to_have_value(
        "Lighthouse logs", timeout=30_000
    )
    expect(page.get_by_text(re.compile(r"Embeddings: Baseten embeddings"))).to_be_visible()
    wait_for_app_idle(page)


def upload(page: Page, files: list[tuple[str, bytes]]) -> None:
    """Set the files on the uploader (again, if a rerun redrew it first), then index them."""
    chooser = page.locator('[class*="st-key-docs_upload_"] input[type=file]')
    button = page.locator(".st-key-docs_index button")
    for _ in range(3):
        chooser.set_input_files(
            [{"name": name, "mimeType": "text/plain", "buffer": data} for name, data in files]
        )
        try:
            expect(button).to_be_enabled(timeout=15_000)
            break
        except AssertionError:
            wait_for_app_idle(page)
    wait_for_app_idle(page)
    button.click()


def lighthouse_collection(engine: Engine) -> str:
    existing = [
        c for c in docs.list_collections(engine, owner=LOCAL_OWNER) if c.name == "Lighthouse logs"
    ]
    if existing:
        return existing[0].id
    return docs.create_collection(
        engine, "Lighthouse logs", EmbedSpec("baseten", "emb12345"), 128, 16, owner=LOCAL_OWNER
    ).id


def queue_rows(engine: Engine, filename: str) -> list[QueuedUpload]:
    with session_scope(engine) as session:
        return list(session.scalars(select(QueuedUpload).where(QueuedUpload.filename == filename)))


def file_rows(engine: Engine, filename: str) -> list[DocumentFile]:
    with session_scope(engine) as session:
        return list(session.scalars(select(DocumentFile).where(DocumentFile.filename == filename)))


def embedded_texts(emulator: EmulatorServer) -> int:
    return sum(
        len(r["body"]["input"])
        for r in emulator.requests()
        if r["path"].endswith("/sync/v1/embeddings")
    )


def test_an_upload_made_on_one_replica_is_indexed_exactly_once(
    replicas: Replicas, browser: Browser, emulator: EmulatorServer, artifacts_dir: Path
) -> None:
    collection_id = lighthouse_collection(replicas.engine)
    text = " ".join(f"Night {n}. " + SENTENCE for n in range(60)).encode()
    with open_app_page(browser, replicas.a.url, screenshot(artifacts_dir, "upload_a")) as on_a:
        open_collection(on_a, replicas.a.url, collection_id)
        upload(on_a, [("keeper-log.txt", text)])
        done = on_a.get_by_test_id("stAlertContentSuccess").filter(has_text="keeper-log.txt")
        expect(done).to_contain_text("Indexed", timeout=INDEX_TIMEOUT_MS)
    [row] = queue_rows(replicas.engine, "keeper-log.txt")
    assert (row.state, row.status, row.attempts) == ("done", "indexed", 1)
    [indexed] = file_rows(replicas.engine, "keeper-log.txt")
    assert indexed.chunks > 10 and embedded_texts(emulator) == indexed.chunks
    with open_app_page(browser, replicas.b.url, screenshot(artifacts_dir, "upload_b")) as on_b:
        open_collection(on_b, replicas.b.url, collection_id)
        expect(on_b.get_by_text("keeper-log.txt").first).to_be_visible()
        # B reads the vectors A's worker wrote (pgvector): the same chunks on both replicas
        expect(on_b.get_by_text(f"1 file, {indexed.chunks} chunks")).to_be_visible()


def test_a_replica_killed_in_the_middle_of_a_file_leaves_it_to_the_other_which_finishes_it(
    replicas: Replicas, browser: Browser, emulator: EmulatorServer, artifacts_dir: Path
) -> None:
    collection_id = lighthouse_collection(replicas.engine)
    # A slow embeddings deployment: each batch of chunks answers after 3 s.
    emulator.fault(first_token_delay_s=3.0, path_contains="/embeddings", times=10_000)
    text = " ".join(f"Storm {n}. " + SENTENCE * 3 for n in range(400)).encode()
    with open_app_page(browser, replicas.a.url, screenshot(artifacts_dir, "kill_a")) as on_a:
        open_collection(on_a, replicas.a.url, collection_id)
        upload(on_a, [("storm-log.txt", text)])
        expect(on_a.get_by_test_id("stProgress").filter(has_text="storm-log.txt")).to_contain_text(
            re.compile(r"[1-9]\d* of \d+ chunks embedded"), timeout=INDEX_TIMEOUT_MS
        )
    [row] = queue_rows(replicas.engine, "storm-log.txt")
    assert row.state == "running" and row.attempts == 1
    victim, survivor = replicas.by_worker(row.claimed_by or "")
    victim.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
    victim.process.wait(30)  # type: ignore[union-attr]
    victim.process = None

    with open_app_page(browser, survivor.url, screenshot(artifacts_dir, "kill_survivor")) as page:
        open_collection(page, survivor.url, collection_id)
        done = page.get_by_test_id("stAlertContentSuccess").filter(has_text="storm-log.txt")
        expect(done).to_contain_text("resumed after a server stopped", timeout=INDEX_TIMEOUT_MS)
        expect(done).to_contain_text("Indexed")
    [row] = queue_rows(replicas.engine, "storm-log.txt")
    assert (row.state, row.status, row.attempts) == ("done", "indexed", 2)
    assert replicas.by_worker(row.claimed_by or "")[0] is survivor
    [indexed] = file_rows(replicas.engine, "storm-log.txt")
    assert indexed.chunks > 128  # more than two batches: the kill came mid-file

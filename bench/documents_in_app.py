"""The "in the app" rows of ``bench/bench_documents.py``: upload -> "Indexed" in a real browser.

The real app (the e2e harness's :class:`AppServer`, ``streamlit run app.py``) runs in its own
process on a fresh data directory with one collection per measured run, created through the
app's own services before the server starts (so the server loads the embedding model at
start, as it does for any collection with a local model). Headless Chromium opens the
Documents page, picks the run's collection, hands the files to the uploader, waits until they
are uploaded, then the clock starts on the click on "Index files" and stops when every file
shows its "Indexed" result. Next to it, in the same run and interleaved, the pipeline alone:
:func:`chatapp.services.documents.add_file` (parse, chunk, embed, store, record) called
directly in this process with the same model and the same chunking, on a fresh collection.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from chatapp.services import documents as docs  # noqa: E402
from chatapp.services.embedders import EmbedSpec  # noqa: E402
from chatapp.services.vector_store import NumpyVectorStore  # noqa: E402
from chatapp.settings import AppConfig  # noqa: E402
from chatapp.storage.db import init_db, make_engine  # noqa: E402
from chatapp.users import LOCAL_OWNER  # noqa: E402
from tests.e2e.conftest import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    AppServer,
    free_port,
    wait_for_app_idle,
)

INDEX_TIMEOUT_MS = 600_000
UI_TIMEOUT_MS = 60_000
#: A real manual that a Debian package ships (36 pages), when this machine has it.
REAL_PDF = Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf")


def real_pdf(fallback: Callable[[], bytes]) -> tuple[str, bytes]:
    """The real multi-page PDF if installed, else ``fallback()`` (a generated one)."""
    if REAL_PDF.is_file():
        return REAL_PDF.name, REAL_PDF.read_bytes()
    return "generated-36-pages.pdf", fallback()


def pipeline_seconds(files: dict[str, bytes], embedder: Any) -> float:
    """parse + chunk + embed + store + record, called directly, on a fresh collection."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/db.sqlite")
        init_db(engine)
        collection = docs.create_collection(engine, "bench", EmbedSpec(), owner=LOCAL_OWNER)
        store = NumpyVectorStore(docs.index_dir(Path(tmp), collection.id))
        started = time.perf_counter()
        for name, data in files.items():
            outcome = docs.add_file(engine, collection, store, lambda: embedder, name, data)
            assert outcome.status == "indexed", outcome.message
        seconds = time.perf_counter() - started
        store.close()
        engine.dispose()
        return seconds


class DocumentsApp(AppServer):
    """The app on a data directory seeded with ``names`` collections (default chunking)."""

    def __init__(self, root: Path, names: list[str]) -> None:
        data_dir = root / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BASETEN_", "STREAMLIT_"))}
        env.update(
            BASETEN_CHAT_DATA_DIR=str(data_dir),
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            PYTHONUNBUFFERED="1",
        )
        super().__init__(
            port=free_port(), data_dir=data_dir, log_path=root / "streamlit.log", env=env
        )
        config = AppConfig.load({}, {"BASETEN_CHAT_DATA_DIR": str(data_dir)})
        data_dir.mkdir(parents=True)
        engine = make_engine(config.database_url)
        init_db(engine)
        for name in names:
            docs.create_collection(engine, name, EmbedSpec(), owner=LOCAL_OWNER)
        engine.dispose()


@contextmanager
def documents_page(browser: Browser, app: DocumentsApp) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    page.goto(app.url)
    wait_for_app_idle(page, UI_TIMEOUT_MS)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Documents", exact=True).click()
    wait_for_app_idle(page, UI_TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()


def pick_collection(page: Page, name: str) -> None:
    page.locator(".st-key-docs_collection input").click()
    page.keyboard.type(name)
    page.get_by_role("option", name=name, exact=True).click()
    wait_for_app_idle(page, UI_TIMEOUT_MS)
    expect(page.get_by_text("No files in this collection yet.")).to_be_visible()


def app_seconds(page: Page, collection: str, files: dict[str, bytes]) -> float:
    """Click on "Index files" -> every file says "Indexed", in the browser."""
    pick_collection(page, collection)
    page.locator('[class*="st-key-docs_upload_"] input[type=file]').set_input_files(
        [{"name": n, "mimeType": "application/octet-stream", "buffer": d} for n, d in files.items()]
    )
    expect(page.locator(".st-key-docs_index button")).to_be_enabled(timeout=UI_TIMEOUT_MS)
    wait_for_app_idle(page, UI_TIMEOUT_MS)
    started = time.perf_counter()
    page.locator(".st-key-docs_index button").click()
    expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text="Indexed")).to_have_count(
        len(files), timeout=INDEX_TIMEOUT_MS
    )
    seconds = time.perf_counter() - started
    wait_for_app_idle(page, UI_TIMEOUT_MS)
    return seconds


def bench_in_app(inputs: dict[str, dict[str, bytes]], embedder: Any, runs: int) -> list[str]:
    """Rows ``| input | in the app | pipeline alone | ratio |``, medians of ``runs``."""
    names = [f"{label} {n}" for label in inputs for n in range(runs + 1)]
    times: dict[str, dict[str, list[float]]] = {k: {"app": [], "pipeline": []} for k in inputs}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        app = DocumentsApp(Path(tmp), names)
        app.start()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            with documents_page(browser, app) as page:
                for run in range(runs + 1):  # run 0 warms up both sides and is not counted
                    for label, files in inputs.items():
                        pipeline = pipeline_seconds(files, embedder)
                        in_app = app_seconds(page, f"{label} {run}", files)
                        if run:
                            times[label]["pipeline"].append(pipeline)
                            times[label]["app"].append(in_app)
        finally:
            browser.close()
            app.stop()
    rows = []
    for label, measured in times.items():
        in_app, alone = statistics.median(measured["app"]), statistics.median(measured["pipeline"])
        rows.append(f"| {label} | {in_app:.2f} | {alone:.2f} | {in_app / alone:.2f}x |")
    return rows

"""The indexing queue: collections take turns, files can be canceled queued or running,
failures keep their message, a file whose worker died is taken over (and failed after its
second death), and progress carries numbers that any process reading the database sees.

A word-hashing embedder stands in for the model; a gated one holds a file mid-embedding so a
test can look at the queue while it runs (waiting on events and conditions, never on time)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from chatapp.services import documents as docs
from chatapp.services import upload_worker as uploads
from chatapp.services.embedders import EmbedSpec
from chatapp.services.ingest_queue import IngestWorker
from chatapp.storage import upload_queue as rows
from chatapp.storage.db import session_scope
from chatapp.users import LOCAL_OWNER
from tests.unit.test_documents_service import WordHashEmbedding

WAIT_S = 60


def wait_until(condition: Any, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class GatedEmbedding(WordHashEmbedding):
    """Embeds only while its gate is open; says when a batch has started waiting."""

    def __init__(self) -> None:
        super().__init__(model_name="gated")
        self._gate_open = threading.Event()
        self._waiting = threading.Event()

    def open(self) -> None:
        self._gate_open.set()

    def wait_until_embedding(self) -> None:
        assert self._waiting.wait(WAIT_S), "the file never reached the embedding stage"

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        self._waiting.set()
        assert self._gate_open.wait(WAIT_S), "the test never opened the gate"
        return super()._get_text_embeddings(texts)


def big_text(sentences: int = 400) -> bytes:
    return " ".join(
        f"Pump {n} needs oil every {n % 7 + 1} weeks." for n in range(sentences)
    ).encode()


class Models(dict):
    """Embedders by model name: each test collection names its own."""

    def factory(self, spec: EmbedSpec, _key: str | None) -> Any:
        return lambda: self[spec.model]


def new_collection(engine: Any, name: str, model: str = "words") -> docs.CollectionInfo:
    return docs.create_collection(engine, name, EmbedSpec("local", model), 64, 8, owner=LOCAL_OWNER)


def start_worker(
    engine: Any, tmp_path: Path, models: Models, workers: int = 2, **options: Any
) -> IngestWorker:
    indexer = uploads.Indexer(tmp_path, embedder_for=models.factory)
    return IngestWorker(engine, indexer, workers=workers, idle_poll_s=0.05, **options).start()


def queue(worker: IngestWorker, collection: Any, files: list[tuple[str, bytes]]) -> list[int]:
    return uploads.queue_uploads(
        worker, collection.id, files, owner=LOCAL_OWNER, max_bytes=10_000_000
    )


def job(worker: IngestWorker, collection: Any, row_id: int) -> Any:
    return next(j for j in worker.jobs(collection.id) if j.id == row_id)


def outcomes(worker: IngestWorker, collection: Any) -> list[tuple[str, str | None]]:
    return [
        (j.filename, j.outcome.status if j.outcome else None) for j in worker.jobs(collection.id)
    ]


@pytest.fixture
def models() -> Models:
    return Models(words=WordHashEmbedding(model_name="words"), gated=GatedEmbedding())


@pytest.fixture
def worker(engine: Any, tmp_path: Path, models: Models) -> Any:
    pool = start_worker(engine, tmp_path, models)
    yield pool
    models["gated"].open()
    pool.close()


def test_a_tiny_file_in_another_collection_finishes_while_a_big_one_is_still_running(
    engine: Any, worker: IngestWorker, models: Models
) -> None:
    big, small = new_collection(engine, "Manuals", "gated"), new_collection(engine, "Notes")
    [big_id] = queue(worker, big, [("manual.txt", big_text())])
    models["gated"].wait_until_embedding()
    [small_id] = queue(worker, small, [("note.txt", b"Lunch at noon.")])
    wait_until(lambda: job(worker, small, small_id).done)

    assert job(worker, small, small_id).outcome.status == "indexed"
    big_job = job(worker, big, big_id)
    assert big_job.running and not big_job.done
    models["gated"].open()
    assert worker.wait_idle(WAIT_S) and job(worker, big, big_id).outcome.status == "indexed"


def test_collections_take_turns_and_each_keeps_its_own_order(engine: Any, tmp_path: Path) -> None:
    order, gate = [], threading.Event()

    def run(_worker: Any, claimed: Any) -> docs.FileOutcome:
        order.append(claimed.filename)
        assert gate.wait(WAIT_S)
        return docs.FileOutcome(claimed.filename, "indexed", "done")

    pool = IngestWorker(engine, run, workers=1, idle_poll_s=0.05).start()
    a, b, c = (new_collection(engine, name) for name in "ABC")
    for collection, names in ((a, ("a1", "a2", "a3")), (b, ("b1", "b2")), (c, ("c1",))):
        queue(pool, collection, [(name, name.encode()) for name in names])
    gate.set()
    assert pool.wait_idle(WAIT_S)
    assert order == ["a1", "b1", "c1", "a2", "b2", "a3"]
    pool.close()


def test_a_queued_file_is_canceled_at_once_and_its_bytes_dropped(
    engine: Any, worker: IngestWorker, models: Models
) -> None:
    manuals = new_collection(engine, "Manuals", "gated")
    first, second = queue(
        worker, manuals, [("first.txt", big_text()), ("second.txt", b"Second file.")]
    )
    models["gated"].wait_until_embedding()
    assert worker.cancel(second)

    canceled = job(worker, manuals, second)
    assert canceled.outcome.status == "canceled"
    assert "nothing from this file" in canceled.outcome.message
    with session_scope(engine) as session:
        assert rows.load_content(session, second) is None
        assert rows.load_content(session, first) is not None  # still needed by its worker
    models["gated"].open()
    assert worker.wait_idle(WAIT_S)
    assert [f.filename for f in docs.list_files(engine, manuals.id, owner=LOCAL_OWNER)] == [
        "first.txt"
    ]


def test_a_running_file_stops_at_its_next_batch_and_leaves_nothing_behind(
    engine: Any, tmp_path: Path, worker: IngestWorker, models: Models
) -> None:
    manuals = new_collection(engine, "Manuals", "gated")
    [row_id] = queue(worker, manuals, [("manual.txt", big_text())])
    models["gated"].wait_until_embedding()
    assert worker.cancel(row_id) and not job(worker, manuals, row_id).done
    models["gated"].open()
    assert worker.wait_idle(WAIT_S)

    assert job(worker, manuals, row_id).outcome.status == "canceled"
    store = uploads.indexer_of(worker).store(manuals.id)
    assert len(store) == 0 and docs.list_files(engine, manuals.id, owner=LOCAL_OWNER) == []
    assert models["gated"].embedded < 100  # it did not embed the rest of the file first


def test_a_cancel_asked_in_another_process_stops_the_running_file(
    engine: Any, tmp_path: Path, worker: IngestWorker, models: Models
) -> None:
    manuals = new_collection(engine, "Manuals", "gated")
    [row_id] = queue(worker, manuals, [("manual.txt", big_text())])
    models["gated"].wait_until_embedding()
    other = IngestWorker(engine, uploads.Indexer(tmp_path), workers=1)  # never started
    assert other.cancel(row_id)  # only the flag in the row: the heartbeat carries it over
    wait_until(lambda: worker._running[row_id].cancel_requested())  # heard by the worker
    models["gated"].open()
    assert worker.wait_idle(WAIT_S)
    assert job(worker, manuals, row_id).outcome.status == "canceled"
    assert docs.list_files(engine, manuals.id, owner=LOCAL_OWNER) == []


def test_a_collection_with_queued_and_running_files_can_be_deleted(
    engine: Any, tmp_path: Path, worker: IngestWorker, models: Models
) -> None:
    manuals = new_collection(engine, "Manuals", "gated")
    ids = queue(worker, manuals, [("a.txt", big_text()), ("b.txt", b"Bee."), ("c.txt", b"Sea.")])
    models["gated"].wait_until_embedding()
    running = worker._running[ids[0]]

    def open_once_canceled() -> None:
        wait_until(running.cancel_requested)
        models["gated"].open()

    stopping = threading.Thread(target=open_once_canceled)
    stopping.start()
    assert worker.cancel_collection(manuals.id, wait_s=WAIT_S)
    stopping.join()
    assert [j.outcome.status for j in worker.jobs(manuals.id) if j.id in ids] == ["canceled"] * 3
    uploads.indexer_of(worker).drop_store(manuals.id)
    docs.delete_collection(engine, tmp_path, manuals.id, owner=LOCAL_OWNER)

    assert docs.get_collection(engine, manuals.id, owner=LOCAL_OWNER) is None
    assert worker.jobs(manuals.id) == [] and not worker.busy()


def test_a_failed_file_keeps_its_message_for_every_process_until_dismissed(
    engine: Any, tmp_path: Path, worker: IngestWorker
) -> None:
    manuals = new_collection(engine, "Manuals")
    [row_id] = queue(worker, manuals, [("broken.json", b"{not json")])
    assert worker.wait_idle(WAIT_S)
    failed = job(worker, manuals, row_id)
    assert failed.outcome.status == "failed" and "not valid JSON" in failed.outcome.message

    after = IngestWorker(engine, uploads.Indexer(tmp_path), workers=1)  # the next process
    [kept] = after.jobs(manuals.id)
    assert kept.outcome.message == failed.outcome.message and not after.busy()
    after.dismiss(manuals.id)
    assert worker.jobs(manuals.id) == []


def test_a_file_whose_worker_died_is_taken_over_after_its_lease_and_indexed_once(
    engine: Any, tmp_path: Path, models: Models
) -> None:
    manuals = new_collection(engine, "Manuals")
    dead = IngestWorker(engine, uploads.Indexer(tmp_path), workers=1, worker_id="dead")
    [row_id] = queue(dead, manuals, [("manual.txt", b"Pumps need oil every week.")])
    with session_scope(engine) as session:  # it claimed the file, then its process was killed
        claimed, _ = rows.claim_next(
            session, "dead", lease_s=1.0, now=rows.utcnow() - timedelta(minutes=1)
        )
        assert claimed is not None and claimed.id == row_id

    alive = start_worker(engine, tmp_path, models, lease_s=3.0)
    assert alive.wait_idle(WAIT_S)
    taken = job(alive, manuals, row_id)
    assert taken.outcome.status == "indexed" and taken.note == uploads.TAKEN_OVER_NOTE
    assert [f.filename for f in docs.list_files(engine, manuals.id, owner=LOCAL_OWNER)] == [
        "manual.txt"
    ]
    assert models["words"].embedded == 1
    alive.close()


def test_a_file_that_stopped_its_server_twice_is_failed_not_run_again(
    engine: Any, tmp_path: Path, models: Models
) -> None:
    manuals = new_collection(engine, "Manuals")
    dead = IngestWorker(engine, uploads.Indexer(tmp_path), workers=1, worker_id="dead")
    bomb, _after = queue(dead, manuals, [("bomb.txt", b"Boom."), ("next.txt", b"Next one.")])
    for attempt in (1, 2):  # two servers died while indexing it, a minute ago and before
        with session_scope(engine) as session:
            claimed, _ = rows.claim_next(
                session,
                f"dead-{attempt}",
                lease_s=1.0,
                now=rows.utcnow() - timedelta(minutes=3 - attempt),
            )
            assert claimed.id == bomb and claimed.attempts == attempt

    alive = start_worker(engine, tmp_path, models)
    assert alive.wait_idle(WAIT_S)
    assert outcomes(alive, manuals) == [("bomb.txt", "failed"), ("next.txt", "indexed")]
    message = job(alive, manuals, bomb).outcome.message
    assert "server stopped while this file was being indexed" in message
    assert "Upload it again" in message
    assert models["words"].embedded == 1  # only next.txt's one chunk: the bomb never ran again
    alive.close()


def test_progress_counts_embedded_chunks_batch_by_batch(engine: Any, tmp_path: Path) -> None:
    model = WordHashEmbedding(model_name="words")
    collection = new_collection(engine, "Manuals")
    store = uploads.Indexer(tmp_path).store(collection.id)
    seen: list[tuple[str, float, str]] = []
    outcome = docs.add_file(
        engine,
        collection,
        store,
        lambda: model,
        "manual.txt",
        big_text(1000),
        on_stage=lambda *s: seen.append(s),
    )
    assert outcome.status == "indexed" and outcome.chunks > 2 * docs.ingest.EMBED_BATCH

    embedded = [detail for stage, _, detail in seen if detail.endswith("chunks embedded")]
    total = outcome.chunks
    expected = [0] + [
        min(n, total)
        for n in range(
            docs.ingest.EMBED_BATCH, total + docs.ingest.EMBED_BATCH, docs.ingest.EMBED_BATCH
        )
    ]
    assert embedded == [f"{n} of {total} chunks embedded" for n in expected]
    fractions = [fraction for _, fraction, _ in seen]
    assert fractions == sorted(fractions) and 0 < fractions[-1] < 1


def test_a_running_files_progress_is_in_its_row_for_every_replica_to_show(
    engine: Any, tmp_path: Path, worker: IngestWorker, models: Models
) -> None:
    manuals = new_collection(engine, "Manuals", "gated")
    [row_id] = queue(worker, manuals, [("manual.txt", big_text())])
    models["gated"].wait_until_embedding()
    reader = IngestWorker(engine, uploads.Indexer(tmp_path), workers=1)  # another replica
    wait_until(lambda: job(reader, manuals, row_id).detail.endswith("chunks embedded"))
    seen = job(reader, manuals, row_id)
    assert seen.running and seen.stage == "embed" and seen.detail.startswith("0 of ")


def test_progress_counts_parsed_pages_of_a_pdf(engine: Any, tmp_path: Path) -> None:
    from tests.pdfs import make_pdf

    model = WordHashEmbedding(model_name="words")
    collection = new_collection(engine, "Manuals")
    store = uploads.Indexer(tmp_path).store(collection.id)
    seen: list[str] = []
    pdf = make_pdf([f"Page {n} is about pump number {n}." for n in range(1, 7)])
    outcome = docs.add_file(
        engine,
        collection,
        store,
        lambda: model,
        "pumps.pdf",
        pdf,
        on_stage=lambda _s, _f, detail: seen.append(detail),
    )
    assert outcome.status == "indexed" and outcome.pages == 6
    parsed = [d for d in seen if d.endswith("pages parsed")]
    assert parsed and parsed[-1] == "6 of 6 pages parsed"
    assert all(d.endswith(" of 6 pages parsed") for d in parsed)


def test_a_file_that_kills_its_parse_worker_is_failed_kept_and_never_parsed_again(
    engine: Any, tmp_path: Path, models: Models
) -> None:
    import json

    from chatapp.services.parse_limits import ParseLimits

    limits = ParseLimits(memory_mb=250, max_rows=10_000_000, max_chars=10**9)
    indexer = uploads.Indexer(tmp_path, limits=limits, embedder_for=models.factory)
    pool = IngestWorker(engine, indexer, workers=2, idle_poll_s=0.05).start()
    manuals = new_collection(engine, "Manuals")
    bomb = json.dumps([{"n": i} for i in range(1_000_000)]).encode()  # 15 MB; 100s parsed
    [row_id] = uploads.queue_uploads(
        pool, manuals.id, [("huge.json", bomb)], owner=LOCAL_OWNER, max_bytes=50_000_000
    )
    assert pool.wait_idle(WAIT_S)
    failed = job(pool, manuals, row_id)
    assert failed.outcome.status == "failed" and "250 MB" in failed.outcome.message
    pool.close()

    after = start_worker(engine, tmp_path, models)  # a restart: listed, not parsed again
    assert job(after, manuals, row_id).outcome.message == failed.outcome.message
    assert not after.busy() and models["words"].embedded == 0
    after.close()


def test_canceling_a_file_while_it_is_parsed_stops_its_parse_worker(
    engine: Any, worker: IngestWorker, models: Models
) -> None:
    from tests.pdfs import make_scanned_pdf

    scans = new_collection(engine, "Scans")
    scan = make_scanned_pdf([f"Scanned page {n} of a long report." for n in range(8)])
    [row_id] = queue(worker, scans, [("scan.pdf", scan)])
    wait_until(
        lambda: (
            job(worker, scans, row_id).detail.endswith("pages parsed")
            or job(worker, scans, row_id).done
        )
    )
    assert not job(worker, scans, row_id).done  # OCR of eight pages takes far longer
    worker.cancel(row_id)
    wait_until(lambda: job(worker, scans, row_id).done)
    assert job(worker, scans, row_id).outcome.status == "canceled"
    assert models["words"].embedded == 0
    assert docs.list_files(engine, scans.id, owner=LOCAL_OWNER) == []

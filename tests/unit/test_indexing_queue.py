"""The indexing queue: collections take turns on a small pool, files can be canceled queued or
running, failures are kept across a restart and never run again, and progress carries numbers.

A word-hashing embedder stands in for the model; a gated one holds a file mid-embedding so a
test can look at the queue while it runs (waiting on events, never on time)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from chatapp.services import documents as docs
from chatapp.services import upload_worker as uploads
from chatapp.services.embedders import EmbedSpec
from chatapp.services.ingest_queue import IngestWorker
from chatapp.services.vector_store import NumpyVectorStore
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
    return " ".join(f"Pump {n} needs oil every {n % 7 + 1} weeks." for n in range(sentences)
                    ).encode()


def new_target(engine: Any, tmp_path: Path, name: str, model: Any) -> uploads.UploadTarget:
    collection = docs.create_collection(engine, name, EmbedSpec(), 64, 8, owner=LOCAL_OWNER)
    store = NumpyVectorStore(docs.index_dir(tmp_path, collection.id))
    return uploads.UploadTarget(engine, collection, store, lambda: model, tmp_path, 10_000_000)


@pytest.fixture
def worker() -> Any:
    pool = IngestWorker(workers=2)
    yield pool
    pool.close()


def test_a_tiny_file_in_another_collection_finishes_while_a_big_one_is_still_running(
    engine: Any, tmp_path: Path, worker: IngestWorker
) -> None:
    gated = GatedEmbedding()
    big = new_target(engine, tmp_path, "Manuals", gated)
    small = new_target(engine, tmp_path, "Notes", WordHashEmbedding(model_name="words"))
    [big_job] = uploads.queue_uploads(worker, big, [("manual.txt", big_text())])
    gated.wait_until_embedding()
    [small_job] = uploads.queue_uploads(worker, small, [("note.txt", b"Lunch at noon.")])
    assert worker.wait_for(small_job, WAIT_S)

    assert small_job.outcome.status == "indexed"
    assert big_job.running and not big_job.done
    gated.open()
    assert worker.wait_idle(WAIT_S) and big_job.outcome.status == "indexed"


def test_collections_take_turns_and_each_keeps_its_own_order(
    engine: Any, tmp_path: Path
) -> None:
    pool, order = IngestWorker(workers=1), []
    gate = threading.Event()

    def step(name: str) -> Any:
        def work(job: Any) -> docs.FileOutcome:
            order.append(name)
            assert gate.wait(WAIT_S)
            return docs.FileOutcome(name, "indexed", "done")
        return work

    for name in ("a1", "a2", "a3"):
        pool.submit("A", name, step(name))
    for name in ("b1", "b2"):
        pool.submit("B", name, step(name))
    pool.submit("C", "c1", step("c1"))
    gate.set()
    assert pool.wait_idle(WAIT_S)
    assert order == ["a1", "b1", "c1", "a2", "b2", "a3"]
    pool.close()


def test_a_queued_file_is_canceled_at_once_and_its_staged_copy_deleted(
    engine: Any, tmp_path: Path, worker: IngestWorker
) -> None:
    gated = GatedEmbedding()
    target = new_target(engine, tmp_path, "Manuals", gated)
    _running, queued = uploads.queue_uploads(
        worker, target, [("first.txt", big_text()), ("second.txt", b"Second file.")])
    gated.wait_until_embedding()
    assert worker.cancel(queued.id)

    assert queued.outcome.status == "canceled" and "nothing from this file" in \
        queued.outcome.message
    assert [s.filename for s in uploads.staged_uploads(tmp_path, target.collection.id)] == [
        "first.txt"]
    gated.open()
    assert worker.wait_idle(WAIT_S)
    assert [f.filename for f in docs.list_files(engine, target.collection.id, owner=LOCAL_OWNER)] == ["first.txt"]


def test_a_running_file_stops_at_its_next_batch_and_leaves_nothing_behind(
    engine: Any, tmp_path: Path, worker: IngestWorker
) -> None:
    gated = GatedEmbedding()
    target = new_target(engine, tmp_path, "Manuals", gated)
    [job] = uploads.queue_uploads(worker, target, [("manual.txt", big_text())])
    gated.wait_until_embedding()
    assert worker.cancel(job.id) and not job.done  # running: it stops at its next check
    gated.open()
    assert worker.wait_idle(WAIT_S)

    assert job.outcome.status == "canceled"
    assert len(target.store) == 0 and docs.list_files(engine, target.collection.id, owner=LOCAL_OWNER) == []
    assert uploads.staged_uploads(tmp_path, target.collection.id) == []
    assert gated.embedded < 100  # it did not embed the rest of the file first


def test_a_collection_with_queued_and_running_files_can_be_deleted(
    engine: Any, tmp_path: Path, worker: IngestWorker
) -> None:
    gated = GatedEmbedding()
    target = new_target(engine, tmp_path, "Manuals", gated)
    jobs = uploads.queue_uploads(worker, target, [("a.txt", big_text()), ("b.txt", b"Bee."),
                                                  ("c.txt", b"Sea.")])
    gated.wait_until_embedding()
    stopping = threading.Thread(target=gated.open)
    stopping.start()
    assert worker.cancel_collection(target.collection.id, wait_s=WAIT_S)
    stopping.join()
    docs.delete_collection(engine, tmp_path, target.collection.id, owner=LOCAL_OWNER)

    assert [j.outcome.status for j in jobs] == ["canceled"] * 3
    assert docs.get_collection(engine, target.collection.id, owner=LOCAL_OWNER) is None
    assert not docs.staging_dir(tmp_path, target.collection.id).exists()
    assert not worker.busy()


def test_a_failed_file_keeps_its_message_after_a_restart_and_is_never_run_again(
    engine: Any, tmp_path: Path, worker: IngestWorker
) -> None:
    model = WordHashEmbedding(model_name="words")
    target = new_target(engine, tmp_path, "Manuals", model)
    [failed] = uploads.queue_uploads(worker, target, [("broken.json", b"{not json")])
    assert worker.wait_idle(WAIT_S) and failed.outcome.status == "failed"

    after = IngestWorker(workers=2)  # the next server process
    [kept] = uploads.resume_uploads(after, target)
    assert kept.done and kept.outcome.status == "failed"
    assert kept.outcome.message == failed.outcome.message
    assert "not valid JSON" in kept.outcome.message
    assert kept.note == uploads.KEPT_NOTE and not after.busy()
    after.dismiss(target.collection.id)
    assert uploads.staged_uploads(tmp_path, target.collection.id) == []
    after.close()


def test_a_file_being_indexed_when_the_server_died_is_marked_failed_not_run_again(
    engine: Any, tmp_path: Path, worker: IngestWorker
) -> None:
    model = WordHashEmbedding(model_name="words")
    target = new_target(engine, tmp_path, "Manuals", model)
    bomb = uploads.stage_upload(tmp_path, target.collection.id, "bomb.txt", b"Boom.")
    bomb.mark("running")  # the server died while indexing it
    waiting = uploads.stage_upload(tmp_path, target.collection.id, "next.txt", b"Next one.")

    jobs = uploads.resume_uploads(worker, target)
    assert worker.wait_idle(WAIT_S)
    assert [(j.filename, j.outcome.status) for j in jobs] == [("bomb.txt", "failed"),
                                                              ("next.txt", "indexed")]
    assert "server stopped while this file was being indexed" in jobs[0].outcome.message
    assert "Upload it again" in jobs[0].outcome.message
    assert [f.filename for f in docs.list_files(engine, target.collection.id, owner=LOCAL_OWNER)] == ["next.txt"]
    assert not bomb.path.exists() and not waiting.path.exists()
    assert model.embedded == 1  # only next.txt's one chunk: the bomb never ran again


def test_progress_counts_embedded_chunks_batch_by_batch(
    engine: Any, tmp_path: Path
) -> None:
    model = WordHashEmbedding(model_name="words")
    target = new_target(engine, tmp_path, "Manuals", model)
    seen: list[tuple[str, float, str]] = []
    outcome = docs.add_file(engine, target.collection, target.store, target.embedder,
                            "manual.txt", big_text(1000), on_stage=lambda *s: seen.append(s))
    assert outcome.status == "indexed" and outcome.chunks > 2 * docs.ingest.EMBED_BATCH

    embedded = [detail for stage, _, detail in seen if detail.endswith("chunks embedded")]
    total = outcome.chunks
    expected = [0] + [min(n, total) for n in range(docs.ingest.EMBED_BATCH,
                                                    total + docs.ingest.EMBED_BATCH,
                                                    docs.ingest.EMBED_BATCH)]
    assert embedded == [f"{n} of {total} chunks embedded" for n in expected]
    fractions = [fraction for _, fraction, _ in seen]
    assert fractions == sorted(fractions) and 0 < fractions[-1] < 1


def test_progress_counts_parsed_pages_of_a_pdf(engine: Any, tmp_path: Path) -> None:
    from tests.pdfs import make_pdf

    model = WordHashEmbedding(model_name="words")
    target = new_target(engine, tmp_path, "Manuals", model)
    seen: list[str] = []
    pdf = make_pdf([f"Page {n} is about pump number {n}." for n in range(1, 7)])
    outcome = docs.add_file(engine, target.collection, target.store, target.embedder,
                            "pumps.pdf", pdf, on_stage=lambda _s, _f, detail: seen.append(detail))
    assert outcome.status == "indexed" and outcome.pages == 6
    parsed = [d for d in seen if d.endswith("pages parsed")]
    assert parsed and parsed[-1] == "6 of 6 pages parsed"
    assert all(d.endswith(" of 6 pages parsed") for d in parsed)


def test_a_file_that_kills_its_parse_worker_is_failed_kept_and_never_parsed_again(
    engine: Any, tmp_path: Path, worker: IngestWorker
) -> None:
    import json
    from dataclasses import replace

    from chatapp.services.parse_limits import ParseLimits

    model = WordHashEmbedding(model_name="words")
    limits = ParseLimits(memory_mb=250, max_rows=10_000_000, max_chars=10**9)
    target = replace(new_target(engine, tmp_path, "Manuals", model), limits=limits,
                     max_bytes=50_000_000)
    bomb = json.dumps([{"n": i} for i in range(1_000_000)]).encode()  # 15 MB; 100s parsed
    [job] = uploads.queue_uploads(worker, target, [("huge.json", bomb)])
    assert worker.wait_idle(WAIT_S)
    assert job.outcome.status == "failed" and "250 MB" in job.outcome.message

    after = IngestWorker(workers=2)  # a restart: the bomb is listed, not parsed again
    [kept] = uploads.resume_uploads(after, target)
    assert kept.outcome.status == "failed" and kept.outcome.message == job.outcome.message
    assert not after.busy() and model.embedded == 0
    after.close()


def test_canceling_a_file_while_it_is_parsed_stops_its_parse_worker(
    engine: Any, tmp_path: Path, worker: IngestWorker
) -> None:
    from tests.pdfs import make_scanned_pdf

    model = WordHashEmbedding(model_name="words")
    target = new_target(engine, tmp_path, "Scans", model)
    scan = make_scanned_pdf([f"Scanned page {n} of a long report." for n in range(8)])
    [job] = uploads.queue_uploads(worker, target, [("scan.pdf", scan)])
    wait_until(lambda: job.detail.endswith("pages parsed") or job.done)
    assert not job.done, job.outcome  # OCR of eight pages takes far longer than one poll
    worker.cancel(job.id)
    assert worker.wait_for(job, WAIT_S)
    assert job.outcome.status == "canceled" and model.embedded == 0
    assert docs.list_files(engine, target.collection.id, owner=LOCAL_OWNER) == []

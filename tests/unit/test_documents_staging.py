"""Uploads survive a restart: staged on disk before they are queued, queued again by the next
process's worker, and the staged copy deleted once indexed, skipped or failed."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from chatapp.services import documents as docs
from chatapp.services import upload_worker as uploads
from chatapp.services.embedders import EmbedderUnavailableError, EmbedSpec
from chatapp.services.vector_store import NumpyVectorStore
from chatapp.users import LOCAL_OWNER
from tests.unit.test_documents_service import WordHashEmbedding


@pytest.fixture
def collection(engine: Any) -> docs.CollectionInfo:
    return docs.create_collection(engine, "Manuals", EmbedSpec(), chunk_size=128,
                                  chunk_overlap=16, owner=LOCAL_OWNER)


def make_target(engine: Any, tmp_path: Path, collection: Any,
                embedder: Any = None) -> uploads.UploadTarget:
    """What a process opens for a collection: its own store and embedder."""
    model = WordHashEmbedding(model_name="word-hash")
    store = NumpyVectorStore(docs.index_dir(tmp_path, collection.id))
    return uploads.UploadTarget(engine, collection, store, embedder or (lambda: model),
                                tmp_path, 10_000)


def staging_contents(tmp_path: Path, collection: Any) -> list[str]:
    folder = docs.staging_dir(tmp_path, collection.id)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_an_upload_is_staged_as_its_bytes_and_a_sidecar_with_its_name(
    tmp_path: Path, collection: Any
) -> None:
    staged = uploads.stage_upload(tmp_path, collection.id, "notes.txt", b"Pumps need oil.")
    sha = hashlib.sha256(b"Pumps need oil.").hexdigest()
    assert staged.path == tmp_path / "staging" / collection.id / sha
    assert staged.path.read_bytes() == b"Pumps need oil."
    meta = json.loads(staged.sidecar.read_text())
    assert meta["filename"] == "notes.txt" and meta["staged_at"] > 0
    assert staging_contents(tmp_path, collection) == [sha, f"{sha}.json"]


def test_half_written_leftovers_are_tidied_and_not_resumed(
    tmp_path: Path, collection: Any
) -> None:
    kept = uploads.stage_upload(tmp_path, collection.id, "a.txt", b"Alpha.")
    folder = docs.staging_dir(tmp_path, collection.id)
    (folder / f".{'b' * 64}.0123.tmp").write_bytes(b"partial")
    (folder / f"{'c' * 64}.json").write_text('{"filename": "c.txt", "staged_at": 1}')
    (folder / ("d" * 64)).write_bytes(b"no sidecar")
    assert [s.filename for s in uploads.staged_uploads(tmp_path, collection.id)] == ["a.txt"]
    assert staging_contents(tmp_path, collection) == [kept.sha256, f"{kept.sha256}.json"]


def test_uploads_queued_before_a_crash_are_indexed_by_the_next_worker(
    engine: Any, tmp_path: Path, collection: Any
) -> None:
    before = make_target(engine, tmp_path, collection)
    docs.add_file(engine, collection, before.store, before.embedder, "old.txt", b"Old news.")
    crashed, gate = uploads.IngestWorker(), threading.Event()

    def hold(_: Any) -> docs.FileOutcome:  # keeps the queue behind it waiting
        gate.wait(30)
        return docs.FileOutcome("busy", "indexed", "done")

    crashed.submit(collection.id, "busy", hold)
    uploads.queue_uploads(crashed, before, [("a.txt", b"Alpha beta."), ("b.md", b"# B\nBeta."),
                                            ("old-copy.txt", b"Old news.")])
    crashed.close()  # the process dies: nothing queued behind "busy" runs
    gate.set()
    assert len(staging_contents(tmp_path, collection)) == 6

    after, worker = make_target(engine, tmp_path, collection), uploads.IngestWorker()
    jobs = uploads.resume_uploads(worker, after)
    assert [(j.filename, j.resumed) for j in jobs] == [("a.txt", True), ("b.md", True)]
    assert worker.wait_idle(30)
    assert [j.outcome.status for j in jobs] == ["indexed", "indexed"]
    assert staging_contents(tmp_path, collection) == []
    names = sorted(f.filename for f in docs.list_files(engine, collection.id, owner=LOCAL_OWNER))
    assert names == ["a.txt", "b.md", "old.txt"]
    assert uploads.resume_uploads(worker, after) == []  # once per worker and collection


def test_a_staged_file_already_indexed_is_removed_without_a_job(
    engine: Any, tmp_path: Path, collection: Any
) -> None:
    target = make_target(engine, tmp_path, collection)
    docs.add_file(engine, collection, target.store, target.embedder, "a.txt", b"Alpha.")
    uploads.stage_upload(tmp_path, collection.id, "a-again.txt", b"Alpha.")
    worker = uploads.IngestWorker()
    assert uploads.resume_uploads(worker, target) == []
    assert staging_contents(tmp_path, collection) == [] and not worker.busy()


def test_a_failing_file_keeps_only_its_message_on_disk_until_dismissed(
    engine: Any, tmp_path: Path, collection: Any
) -> None:
    def offline() -> Any:
        raise EmbedderUnavailableError("Could not load the embedding model 'x': offline.")

    worker = uploads.IngestWorker()
    target = make_target(engine, tmp_path, collection, embedder=offline)
    jobs = uploads.queue_uploads(worker, target, [("setup.exe", b"MZ"), ("a.txt", b"Alpha.")])
    assert worker.wait_idle(30)
    assert [j.outcome.status for j in jobs] == ["failed", "failed"]
    assert "not supported" in jobs[0].outcome.message
    assert jobs[1].outcome.message == "Could not load the embedding model 'x': offline."
    kept = uploads.staged_uploads(tmp_path, collection.id)
    assert [(s.filename, s.state, s.path.exists()) for s in kept] == [
        ("setup.exe", "failed", False), ("a.txt", "failed", False)]
    assert docs.list_files(engine, collection.id, owner=LOCAL_OWNER) == []
    worker.dismiss(collection.id)
    assert staging_contents(tmp_path, collection) == []


def test_deleting_a_collection_deletes_its_staged_uploads(
    engine: Any, tmp_path: Path, collection: Any
) -> None:
    uploads.stage_upload(tmp_path, collection.id, "a.txt", b"Alpha.")
    docs.delete_collection(engine, tmp_path, collection.id, owner=LOCAL_OWNER)
    assert not docs.staging_dir(tmp_path, collection.id).exists()

"""Uploads are staged in the database, where every replica can read them: the bytes live in
the queue row until the file is done. Uploads that an earlier version staged on disk are moved
into the queue when the server starts, and nothing is left behind."""

from __future__ import annotations

import hashlib
import json
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


@pytest.fixture
def collection(engine: Any) -> docs.CollectionInfo:
    return docs.create_collection(
        engine, "Manuals", EmbedSpec(), chunk_size=128, chunk_overlap=16, owner=LOCAL_OWNER
    )


def indexer(tmp_path: Path, model: Any) -> uploads.Indexer:
    return uploads.Indexer(tmp_path, embedder_for=lambda _spec, _key: lambda: model)


def stage_on_disk(
    tmp_path: Path,
    collection: Any,
    filename: str,
    data: bytes | None,
    state: str = "queued",
    message: str = "",
    at: float = 1.0,
) -> str:
    """What the earlier version wrote: the bytes under their hash, and a JSON sidecar."""
    folder = docs.staging_dir(tmp_path, collection.id)
    folder.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256(data or filename.encode()).hexdigest()
    if data is not None:
        (folder / sha).write_bytes(data)
    (folder / f"{sha}.json").write_text(
        json.dumps({"filename": filename, "staged_at": at, "state": state, "message": message})
    )
    return sha


def test_an_upload_is_staged_as_its_bytes_in_the_queue_and_dropped_once_indexed(
    engine: Any, tmp_path: Path, collection: Any
) -> None:
    model = WordHashEmbedding(model_name="words")
    worker = IngestWorker(engine, indexer(tmp_path, model), workers=1, idle_poll_s=0.05)
    [row_id] = uploads.queue_uploads(
        worker, collection.id, [("notes.txt", b"Pumps need oil.")], owner=LOCAL_OWNER
    )
    with session_scope(engine) as session:  # any replica can read it, nothing is on disk
        assert rows.load_content(session, row_id) == b"Pumps need oil."
    assert not docs.staging_dir(tmp_path, collection.id).exists()
    [queued] = worker.jobs(collection.id)
    assert (queued.filename, queued.stage, queued.done) == ("notes.txt", "queued", False)

    worker.start()
    assert worker.wait_idle(WAIT_S)
    [done] = worker.jobs(collection.id)
    assert done.outcome.status == "indexed"
    with session_scope(engine) as session:
        assert rows.load_content(session, row_id) is None
    assert [f.filename for f in docs.list_files(engine, collection.id, owner=LOCAL_OWNER)] == [
        "notes.txt"
    ]
    worker.close()


def test_uploads_staged_on_disk_by_the_earlier_version_are_moved_into_the_queue(
    engine: Any, tmp_path: Path, collection: Any
) -> None:
    model = WordHashEmbedding(model_name="words")
    stage_on_disk(tmp_path, collection, "a.txt", b"Alpha beta.", at=1)
    stage_on_disk(tmp_path, collection, "bad.exe", None, "failed", "bad.exe: not supported.", 2)
    stage_on_disk(tmp_path, collection, "bomb.txt", b"Boom.", "running", at=3)
    stage_on_disk(tmp_path, collection, "b.md", b"# B\nBeta.", at=4)
    worker = IngestWorker(engine, indexer(tmp_path, model), workers=1, idle_poll_s=0.05)

    assert uploads.import_disk_staging(worker, tmp_path) == 4
    assert not (tmp_path / "staging").exists()
    worker.start()
    assert worker.wait_idle(WAIT_S)
    got = [(j.filename, j.outcome.status, j.note) for j in worker.jobs(collection.id)]
    assert got == [
        ("a.txt", "indexed", uploads.RESUMED_NOTE),
        ("bad.exe", "failed", "kept from before a restart"),
        ("bomb.txt", "failed", "kept from before a restart"),
        ("b.md", "indexed", uploads.RESUMED_NOTE),
    ]
    bomb = worker.jobs(collection.id)[2].outcome.message
    assert "server stopped while this file was being indexed" in bomb
    assert sorted(
        f.filename for f in docs.list_files(engine, collection.id, owner=LOCAL_OWNER)
    ) == ["a.txt", "b.md"]
    worker.close()


def test_deleting_a_collection_deletes_its_queued_uploads(
    engine: Any, tmp_path: Path, collection: Any
) -> None:
    worker = IngestWorker(engine, indexer(tmp_path, None), workers=1)  # never started
    uploads.queue_uploads(worker, collection.id, [("a.txt", b"Alpha.")], owner=LOCAL_OWNER)
    docs.delete_collection(engine, tmp_path, collection.id, owner=LOCAL_OWNER)
    assert worker.jobs(collection.id) == [] and not worker.busy()

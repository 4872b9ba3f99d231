"""Indexed PDFs are kept in the database, so a cited page opens on every replica: a second
process with its own data directory renders it, removing a file or deleting a collection (or a
user's data) leaves no original behind, and a copy an older version kept on disk is still shown
and moved into the database."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Engine, func, select

from chatapp.services import accounts, originals, page_view
from chatapp.services import documents as docs
from chatapp.services import upload_worker as uploads
from chatapp.services.embedders import EmbedSpec
from chatapp.services.ingest_queue import IngestWorker
from chatapp.storage.db import init_db, make_engine, session_scope
from chatapp.storage.originals import DocOriginal
from chatapp.users import LOCAL_OWNER
from tests.pdfs import make_pdf
from tests.unit.test_documents_service import WordHashEmbedding

WAIT_S = 60
PAGES = ["A first page about budgets.", "The violet giraffe lives in Oslo."]


@pytest.fixture
def collection(engine: Engine) -> docs.CollectionInfo:
    return docs.create_collection(
        engine, "Manuals", EmbedSpec(), chunk_size=128, chunk_overlap=16, owner=LOCAL_OWNER
    )


def index_pdf(
    engine: Engine,
    data_dir: Path,
    collection: Any,
    data: bytes,
    indexer: uploads.Indexer | None = None,
) -> str:
    """Index ``data`` as a PDF upload on one replica (its own data directory); its hash."""
    indexer = indexer or make_indexer(data_dir)
    worker = IngestWorker(engine, indexer, workers=1, idle_poll_s=0.05)
    uploads.queue_uploads(worker, collection.id, [("giraffes.pdf", data)], owner=LOCAL_OWNER)
    worker.start()
    try:
        assert worker.wait_idle(WAIT_S)
        [job] = worker.jobs(collection.id)
        assert job.outcome.status == "indexed", job.outcome.message
    finally:
        worker.close()
    [info] = docs.list_files(engine, collection.id, owner=LOCAL_OWNER)
    return info.sha256


def make_indexer(data_dir: Path) -> uploads.Indexer:
    model = WordHashEmbedding(model_name="words")
    return uploads.Indexer(data_dir, embedder_for=lambda _spec, _key: lambda: model)


def kept_originals(engine: Engine) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(DocOriginal)) or 0


def test_a_page_of_a_pdf_indexed_on_one_replica_renders_on_another_with_its_own_data_dir(
    engine: Engine, database_url: str, tmp_path: Path, collection: Any
) -> None:
    sha = index_pdf(engine, tmp_path / "replica_a", collection, make_pdf(PAGES))
    assert not (tmp_path / "replica_a" / "originals").exists()

    other = make_engine(database_url)  # the second replica: its own engine, its own disk
    try:
        init_db(other)
        data = originals.load(other, tmp_path / "replica_b", collection.id, sha, owner=LOCAL_OWNER)
        assert data is not None
        rendered = page_view.render_page(data, 2, "The violet giraffe lives in Oslo.")
        assert rendered.highlighted == 1
        assert Image.open(io.BytesIO(rendered.png)).format == "PNG"
        assert (
            originals.load(
                other, tmp_path / "replica_b", collection.id, sha, owner="someone-else@example.com"
            )
            is None
        )
    finally:
        other.dispose()


def test_removing_a_file_leaves_no_original(
    engine: Engine, tmp_path: Path, collection: Any
) -> None:
    indexer = make_indexer(tmp_path)
    sha = index_pdf(engine, tmp_path, collection, make_pdf(PAGES), indexer)
    assert kept_originals(engine) == 1
    docs.remove_file(
        engine, indexer.store(collection.id, engine), collection.id, sha, owner=LOCAL_OWNER
    )
    assert kept_originals(engine) == 0
    assert originals.load(engine, tmp_path, collection.id, sha, owner=LOCAL_OWNER) is None


def test_deleting_a_collection_or_a_users_data_leaves_no_original(
    engine: Engine, tmp_path: Path, collection: Any
) -> None:
    index_pdf(engine, tmp_path, collection, make_pdf(PAGES))
    second = docs.create_collection(engine, "Second", EmbedSpec(), owner=LOCAL_OWNER)
    index_pdf(engine, tmp_path, second, make_pdf(["Another page about pumps."]))
    assert kept_originals(engine) == 2
    docs.delete_collection(engine, tmp_path, collection.id, owner="someone-else@example.com")
    assert kept_originals(engine) == 2
    docs.delete_collection(engine, tmp_path, collection.id, owner=LOCAL_OWNER)
    assert kept_originals(engine) == 1
    accounts.delete_user_data(engine, tmp_path, owner=LOCAL_OWNER)
    assert kept_originals(engine) == 0


def test_an_original_an_older_version_kept_on_disk_is_still_shown_and_moved(
    engine: Engine, tmp_path: Path, collection: Any
) -> None:
    data = make_pdf(PAGES)
    sha = index_pdf(engine, tmp_path, collection, data)
    with session_scope(engine) as session:  # as an older version left it: on disk only
        session.execute(DocOriginal.__table__.delete())
    path = page_view.keep_original(tmp_path, collection.id, sha, data)

    assert originals.load(engine, tmp_path, collection.id, sha, owner=LOCAL_OWNER) == data
    assert not path.exists() and kept_originals(engine) == 1
    assert (
        originals.load(engine, tmp_path / "elsewhere", collection.id, sha, owner=LOCAL_OWNER)
        == data
    )


def test_originals_kept_on_disk_are_moved_into_the_database_at_start(
    engine: Engine, tmp_path: Path, collection: Any
) -> None:
    data = make_pdf(PAGES)
    sha = index_pdf(engine, tmp_path, collection, data)
    with session_scope(engine) as session:
        session.execute(DocOriginal.__table__.delete())
    path = page_view.keep_original(tmp_path, collection.id, sha, data)
    orphan = page_view.keep_original(tmp_path, "0" * 32, sha, data)  # collection gone

    assert originals.import_disk_originals(engine, tmp_path) == 1
    assert not path.exists() and not path.parent.exists() and orphan.exists()
    assert (
        originals.load(engine, tmp_path / "elsewhere", collection.id, sha, owner=LOCAL_OWNER)
        == data
    )

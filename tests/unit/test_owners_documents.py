"""Document collections, with their files, vectors and question history, belong to the user
who made them: another user cannot list, open, rename, delete, index into, remove from,
retrieve from or read the history of one; its id behaves like a missing one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from chatapp.services import documents as docs
from chatapp.services import upload_worker as uploads
from chatapp.services.embedders import EmbedSpec
from chatapp.services.vector_store import NumpyVectorStore
from tests.unit.test_documents_service import WordHashEmbedding

ANN = "ann@example.com"
BOB = "bob@example.com"
NOTES = b"The pump filter is changed every 500 hours. Valves are checked weekly."


def anns_collection(engine: Engine, tmp_path: Path) -> tuple[docs.CollectionInfo, NumpyVectorStore]:
    """Ann's collection with one indexed file and one question in its history."""
    collection = docs.create_collection(
        engine, "Manuals", EmbedSpec(), chunk_size=128, chunk_overlap=16, owner=ANN
    )
    store = NumpyVectorStore(docs.index_dir(tmp_path, collection.id))
    embedder = WordHashEmbedding(model_name="word-hash")
    outcome = docs.add_file(engine, collection, store, lambda: embedder, "pump.txt", NOTES)
    assert outcome.status == "indexed", outcome.message
    docs.record_question(
        engine,
        collection.id,
        owner=ANN,
        question="When is the filter changed?",
        answer="Every 500 hours [1].",
    )
    return collection, store


def test_each_user_lists_only_their_own_collections_and_may_reuse_a_name(
    engine: Engine, tmp_path: Path
) -> None:
    anns_collection(engine, tmp_path)
    docs.create_collection(engine, "Manuals", EmbedSpec(), owner=BOB)  # same name, no clash
    assert [c.owner for c in docs.list_collections(engine, owner=ANN)] == [ANN]
    assert [c.owner for c in docs.list_collections(engine, owner=BOB)] == [BOB]


def test_another_users_collection_opens_like_a_missing_one(engine: Engine, tmp_path: Path) -> None:
    collection, _ = anns_collection(engine, tmp_path)
    assert docs.get_collection(engine, collection.id, owner=BOB) is None
    assert docs.list_files(engine, collection.id, owner=BOB) == []
    assert docs.history(engine, collection.id, owner=BOB) == []
    assert docs.conversation(engine, collection.id, owner=BOB) == []
    assert docs.indexed_name(engine, collection.id, docs.ingest.sha256_of(NOTES), owner=BOB) is None
    assert docs.get_collection(engine, collection.id, owner=ANN) == collection
    assert [f.filename for f in docs.list_files(engine, collection.id, owner=ANN)] == ["pump.txt"]


def test_another_user_cannot_rename_or_write_into_a_collection(
    engine: Engine, tmp_path: Path
) -> None:
    collection, store = anns_collection(engine, tmp_path)
    with pytest.raises(docs.DocumentsError, match="no longer exists"):
        docs.rename_collection(engine, collection.id, "Bob's now", owner=BOB)
    with pytest.raises(docs.DocumentsError, match="no longer exists"):
        docs.record_question(engine, collection.id, owner=BOB, question="injected")
    with pytest.raises(docs.DocumentsError, match="no longer exists"):
        docs.set_embedding(engine, collection.id, EmbedSpec("baseten", "emb12345"), owner=BOB)
    with pytest.raises(docs.DocumentsError, match="no longer exists"):
        docs.reembed_collection(
            engine,
            collection.id,
            store,
            WordHashEmbedding(model_name="other"),
            EmbedSpec(),
            owner=BOB,
        )
    bobs_view = docs.CollectionInfo(
        collection.id,
        collection.name,
        collection.embed,
        collection.chunk_size,
        collection.chunk_overlap,
        BOB,
    )
    other = b"Injected text that Bob wants in Ann's index."
    outcome = docs.add_file(
        engine, bobs_view, store, lambda: WordHashEmbedding(model_name="w"), "bob.txt", other
    )
    assert outcome.status == "failed"
    assert [f.filename for f in docs.list_files(engine, collection.id, owner=ANN)] == ["pump.txt"]
    assert [h["question"] for h in docs.history(engine, collection.id, owner=ANN)] == [
        "When is the filter changed?"
    ]
    assert docs.get_collection(engine, collection.id, owner=ANN).name == "Manuals"


def test_another_user_cannot_delete_a_collection_its_files_vectors_or_history(
    engine: Engine, tmp_path: Path
) -> None:
    collection, store = anns_collection(engine, tmp_path)
    sha = docs.ingest.sha256_of(NOTES)
    chunks = len(store)
    docs.remove_file(engine, store, collection.id, sha, owner=BOB)
    docs.clear_history(engine, collection.id, owner=BOB)
    docs.delete_collection(engine, tmp_path, collection.id, owner=BOB)
    assert len(store) == chunks > 0
    assert docs.index_dir(tmp_path, collection.id).exists()
    assert len(docs.list_files(engine, collection.id, owner=ANN)) == 1
    assert len(docs.history(engine, collection.id, owner=ANN)) == 1


def test_deleting_a_collection_deletes_its_vectors(engine: Engine, tmp_path: Path) -> None:
    collection, store = anns_collection(engine, tmp_path)
    assert len(store) > 0
    store.close()
    docs.delete_collection(engine, tmp_path, collection.id, owner=ANN)
    assert not docs.index_dir(tmp_path, collection.id).exists()
    assert docs.list_collections(engine, owner=ANN) == []


def test_a_reindex_queued_for_another_users_collection_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    collection, _store = anns_collection(engine, tmp_path)
    other = WordHashEmbedding(model_name="other")
    indexer = uploads.Indexer(tmp_path, embedder_for=lambda _spec, _key: lambda: other)
    worker = uploads.IngestWorker(engine, indexer, workers=1, idle_poll_s=0.05)
    uploads.queue_reembed(worker, collection.id, EmbedSpec("baseten", "emb12345"), owner=BOB)
    assert worker.start().wait_idle(30)
    [job] = worker.jobs(collection.id)
    assert job.outcome.status == "failed" and "no longer exists" in job.outcome.message
    assert docs.get_collection(engine, collection.id, owner=ANN).embed == EmbedSpec()
    assert other.embedded == 0
    worker.close()

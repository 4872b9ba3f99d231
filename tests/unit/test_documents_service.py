"""Collections and files: dedupe by content hash, persistence, removal, bad input isolation,
and the background worker. A small word-hashing embedder stands in for the model here."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr

from chatapp.services import documents as docs
from chatapp.services import rag, vector_store
from chatapp.services import upload_worker as uploads
from chatapp.services.embedders import EmbedSpec
from chatapp.users import LOCAL_OWNER
from tests.pdfs import make_pdf


class WordHashEmbedding(BaseEmbedding):
    """Bag of hashed words, 64 dims; counts the texts it embedded."""

    _calls: list[int] = PrivateAttr(default_factory=list)

    def _vector(self, text: str) -> list[float]:
        vec = np.zeros(64, dtype=np.float32)
        for word in text.lower().split():
            vec[int(hashlib.md5(word.strip(".,?").encode()).hexdigest(), 16) % 64] += 1
        return vec.tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        self._calls.append(1)
        return self._vector(text)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        self._calls.append(len(texts))
        return [self._vector(t) for t in texts]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    @property
    def embedded(self) -> int:
        return sum(self._calls)


@pytest.fixture
def embedder() -> WordHashEmbedding:
    return WordHashEmbedding(model_name="word-hash")


@pytest.fixture
def collection(engine: Any) -> docs.CollectionInfo:
    return docs.create_collection(
        engine, "Manuals", EmbedSpec(), chunk_size=128, chunk_overlap=16, owner=LOCAL_OWNER
    )


@pytest.fixture
def open_store(engine: Any, tmp_path: Path) -> Any:
    """Opens a collection's store the way the app does: pgvector on PostgreSQL, else NumPy."""

    def opened(collection: docs.CollectionInfo) -> Any:
        directory = docs.index_dir(tmp_path, collection.id)
        return vector_store.open_store(engine, collection.id, directory)

    return opened


def test_collections_can_be_created_renamed_and_deleted(engine: Any, tmp_path: Path) -> None:
    first = docs.create_collection(
        engine, "  Legal   docs ", EmbedSpec("baseten", "emb12345"), owner=LOCAL_OWNER
    )
    assert first.name == "Legal docs" and first.embed.kind == "baseten"
    docs.rename_collection(engine, first.id, "Contracts", owner=LOCAL_OWNER)
    assert [c.name for c in docs.list_collections(engine, owner=LOCAL_OWNER)] == ["Contracts"]
    index = docs.index_dir(tmp_path, first.id)
    index.mkdir(parents=True)
    docs.delete_collection(engine, tmp_path, first.id, owner=LOCAL_OWNER)
    assert docs.list_collections(engine, owner=LOCAL_OWNER) == [] and not index.exists()


def test_collection_names_must_be_present_and_unique(engine: Any, collection: Any) -> None:
    with pytest.raises(docs.DocumentsError, match="already exists"):
        docs.create_collection(engine, "Manuals", EmbedSpec(), owner=LOCAL_OWNER)
    with pytest.raises(docs.DocumentsError, match="name"):
        docs.create_collection(engine, "   ", EmbedSpec(), owner=LOCAL_OWNER)
    with pytest.raises(docs.DocumentsError, match="overlap"):
        docs.create_collection(
            engine, "Other", EmbedSpec(), chunk_size=128, chunk_overlap=128, owner=LOCAL_OWNER
        )


def test_uploading_the_same_content_again_does_no_work_and_says_so(
    open_store: Any, engine: Any, tmp_path: Path, collection: Any, embedder: WordHashEmbedding
) -> None:
    store = open_store(collection)
    data = make_pdf(["The pump needs oil every week."])
    first = docs.add_file(engine, collection, store, lambda: embedder, "pump.pdf", data)
    embedded = embedder.embedded

    def must_not_load() -> BaseEmbedding:
        raise AssertionError("the embedding model was loaded for a duplicate")

    again = docs.add_file(engine, collection, store, must_not_load, "pump-copy.pdf", data)
    assert first.status == "indexed" and again.status == "skipped"
    assert "Already in this collection (as pump.pdf)" in again.message
    assert embedder.embedded == embedded
    assert len(docs.list_files(engine, collection.id, owner=LOCAL_OWNER)) == 1


def test_a_fresh_process_sees_the_index_without_re_embedding(
    open_store: Any, engine: Any, tmp_path: Path, collection: Any, embedder: WordHashEmbedding
) -> None:
    data = make_pdf(["Valves open clockwise.", "Filters are changed in March."])
    store = open_store(collection)
    docs.add_file(engine, collection, store, lambda: embedder, "valves.pdf", data)
    store.close()
    fresh_store, fresh_embedder = open_store(collection), WordHashEmbedding()
    found = rag.retrieve(fresh_store, fresh_embedder, "When are filters changed", 1, 0.0)
    assert found.sources[0].citation == "valves.pdf, page 2"
    again = docs.add_file(
        engine, collection, fresh_store, lambda: fresh_embedder, "valves.pdf", data
    )
    assert again.status == "skipped" and fresh_embedder.embedded == 0


def test_removing_a_file_takes_its_chunks_out_of_the_index(
    open_store: Any, engine: Any, tmp_path: Path, collection: Any, embedder: WordHashEmbedding
) -> None:
    store = open_store(collection)
    keep = docs.add_file(engine, collection, store, lambda: embedder, "a.txt", b"Apples are red.")
    gone = docs.add_file(
        engine, collection, store, lambda: embedder, "b.txt", b"Bananas are yellow."
    )
    docs.remove_file(engine, store, collection.id, gone.sha256, owner=LOCAL_OWNER)
    assert [f.filename for f in docs.list_files(engine, collection.id, owner=LOCAL_OWNER)] == [
        "a.txt"
    ]
    assert store.ref_doc_ids() == {keep.sha256}
    assert open_store(collection).ref_doc_ids() == {keep.sha256}


def test_bad_files_fail_alone_and_leave_the_collection_untouched(
    open_store: Any, engine: Any, tmp_path: Path, collection: Any, embedder: WordHashEmbedding
) -> None:
    store = open_store(collection)
    docs.add_file(engine, collection, store, lambda: embedder, "ok.md", b"# Title\nBody text.")
    before = (len(store), docs.list_files(engine, collection.id, owner=LOCAL_OWNER))
    outcomes = [
        docs.add_file(engine, collection, store, lambda: embedder, name, data, max_bytes=10_000)
        for name, data in [
            ("x.pdf", b"%PDF-1.4 garbage"),
            ("e.txt", b""),
            ("z.exe", b"MZ"),
            ("big.txt", b"a" * 20_000),
            ("bad.json", b"{nope"),
        ]
    ]
    assert [o.status for o in outcomes] == ["failed"] * 5
    assert len({o.message for o in outcomes}) == 5
    assert (len(store), docs.list_files(engine, collection.id, owner=LOCAL_OWNER)) == before


def test_an_embedding_failure_is_reported_and_nothing_is_stored(
    open_store: Any, engine: Any, tmp_path: Path, collection: Any
) -> None:
    from chatapp.services.embedders import EmbedderUnavailableError

    def broken() -> BaseEmbedding:
        raise EmbedderUnavailableError("Could not load the embedding model 'x': offline.")

    store = open_store(collection)
    outcome = docs.add_file(engine, collection, store, broken, "a.txt", b"Some text.")
    assert outcome.status == "failed" and "offline" in outcome.message
    assert len(store) == 0 and docs.list_files(engine, collection.id, owner=LOCAL_OWNER) == []


def test_the_worker_indexes_queued_files_in_order_and_reports_each(
    open_store: Any, engine: Any, tmp_path: Path, collection: Any, embedder: WordHashEmbedding
) -> None:
    indexer = uploads.Indexer(tmp_path, embedder_for=lambda _spec, _key: lambda: embedder)
    worker = uploads.IngestWorker(engine, indexer, workers=2, idle_poll_s=0.05)
    uploads.queue_uploads(
        worker,
        collection.id,
        [("a.txt", b"Alpha."), ("b.exe", b"MZ"), ("a2.txt", b"Alpha.")],
        owner=LOCAL_OWNER,
        max_bytes=10_000,
    )
    worker.start()
    assert worker.wait_idle(30)
    jobs = worker.jobs(collection.id)
    assert [j.outcome.status for j in jobs] == ["indexed", "failed", "skipped"]
    assert all(j.fraction == 1.0 for j in jobs)
    worker.dismiss(collection.id)
    assert worker.jobs(collection.id) == []
    worker.close()


def test_changing_the_embedding_model_re_embeds_every_chunk_and_records_it(
    open_store: Any, engine: Any, tmp_path: Path, collection: Any, embedder: WordHashEmbedding
) -> None:
    store = open_store(collection)
    docs.add_file(engine, collection, store, lambda: embedder, "a.txt", b"Alpha beta gamma.")
    new_model = WordHashEmbedding(model_name="other")
    count = docs.reembed_collection(
        engine, collection.id, store, new_model, EmbedSpec("baseten", "emb12345"), owner=LOCAL_OWNER
    )
    assert count == 1 and new_model.embedded == 1
    assert docs.get_collection(engine, collection.id, owner=LOCAL_OWNER).embed == EmbedSpec(
        "baseten", "emb12345"
    )
    assert rag.retrieve(store, new_model, "alpha", 1, 0.0).sources[0].file_name == "a.txt"


def test_questions_are_kept_per_collection_in_order(engine: Any, collection: Any) -> None:
    other = docs.create_collection(engine, "Other", EmbedSpec(), owner=LOCAL_OWNER)
    docs.record_question(
        engine, collection.id, question="Q1", answer="A1", sources=[], owner=LOCAL_OWNER
    )
    docs.record_question(engine, other.id, question="X", answer="Y", sources=[], owner=LOCAL_OWNER)
    docs.record_question(
        engine, collection.id, question="Q2", answer="", error="boom", owner=LOCAL_OWNER
    )
    assert [h["question"] for h in docs.history(engine, collection.id, owner=LOCAL_OWNER)] == [
        "Q1",
        "Q2",
    ]
    assert docs.conversation(engine, collection.id, owner=LOCAL_OWNER) == [("Q1", "A1")]
    docs.clear_history(engine, collection.id, owner=LOCAL_OWNER)
    assert (
        docs.history(engine, collection.id, owner=LOCAL_OWNER) == []
        and len(docs.history(engine, other.id, owner=LOCAL_OWNER)) == 1
    )

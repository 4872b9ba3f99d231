"""Document vectors in pgvector on a real PostgreSQL: the same answers as the NumPy store,
an HNSW index the searches use, a collection's vectors shared by every replica, and nothing
left behind when a file, a collection or a user's data is deleted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from sqlalchemy import Engine, func, select, text

from chatapp.services import accounts, pg_vector_store
from chatapp.services import documents as docs
from chatapp.services.embedders import EmbedSpec
from chatapp.services.pg_vector_store import PgVectorStore
from chatapp.services.vector_store import NumpyVectorStore, open_store
from chatapp.storage.db import init_db, make_engine
from chatapp.storage.vectors import doc_vectors, hnsw_index_name

ANN, BOB = "ann@example.com", "bob@example.com"


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    init_db(engine)
    yield engine
    engine.dispose()


def node(node_id: str, ref: str, vector: list[float] | np.ndarray, words: str = "") -> TextNode:
    item = TextNode(
        id_=node_id,
        text=words or f"text of {node_id}",
        embedding=list(vector),
        metadata={"file_name": f"{ref}.pdf", "page": 1},
    )
    item.relationships = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=ref)}
    return item


def new_store(
    engine: Engine, tmp_path: Path, owner: str = ANN, name: str = "Manuals"
) -> PgVectorStore:
    collection = docs.create_collection(engine, name, EmbedSpec(), owner=owner)
    store = open_store(engine, collection.id, tmp_path / collection.id)
    assert isinstance(store, PgVectorStore)
    return store


def vector_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(doc_vectors)).scalar() or 0


def test_a_sqlite_app_keeps_the_numpy_store(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    assert isinstance(open_store(engine, "c" * 32, tmp_path / "index"), NumpyVectorStore)


def test_search_finds_what_the_numpy_store_finds_with_the_same_similarities(
    pg: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_vector_store, "EF_SEARCH", 1000)  # HNSW then visits every row: exact
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(300, 32)).astype(np.float32)
    nodes = [node(f"n{i}", f"f{i % 5}", v) for i, v in enumerate(vectors)]
    store = new_store(pg, tmp_path)
    numpy_store = NumpyVectorStore(tmp_path / "numpy")
    store.add(nodes)
    numpy_store.add(nodes)
    for query in rng.normal(size=(5, 32)):
        expected = numpy_store.vector_search(query, 4)
        found = store.vector_search(query, 4)
        assert [n for n, _ in found] == [n for n, _ in expected]
        assert [s for _, s in found] == pytest.approx([s for _, s in expected], abs=1e-4)
    result = store.query(VectorStoreQuery(query_embedding=list(vectors[3]), similarity_top_k=1))
    assert result.ids == ["n3"] and result.nodes[0].get_content() == "text of n3"
    assert result.similarities[0] == pytest.approx(1.0, abs=1e-5)
    assert len(store) == 300 and store.dim == 32


def test_searches_can_use_the_hnsw_cosine_index(pg: Engine, tmp_path: Path) -> None:
    store = new_store(pg, tmp_path)
    store.add(
        [node(f"n{i}", "f", v) for i, v in enumerate(np.random.default_rng(1).normal(size=(50, 8)))]
    )
    with pg.begin() as connection:
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        connection.execute(text("SET LOCAL enable_bitmapscan = off"))
        plan = "\n".join(
            row[0]
            for row in connection.execute(
                text(
                    "EXPLAIN SELECT node_id FROM doc_vectors WHERE collection_id = :c AND dim = 8"
                    " ORDER BY embedding::vector(8) <=> CAST(:q AS vector(8)) LIMIT 4"
                ),
                {"c": store.collection_id, "q": "[1,0,0,0,0,0,0,0]"},
            )
        )
        definition = connection.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": hnsw_index_name(8)}
        ).scalar()
    assert hnsw_index_name(8) in plan
    assert "USING hnsw" in definition and "vector_cosine_ops" in definition


def test_a_small_collection_beside_a_large_one_still_gets_k_passages(
    pg: Engine, tmp_path: Path
) -> None:
    rng = np.random.default_rng(3)
    big = new_store(pg, tmp_path, name="Big")
    big.add([node(f"b{i}", "big", v) for i, v in enumerate(rng.normal(size=(2000, 16)))])
    small = new_store(pg, tmp_path, name="Small")
    small.add([node(f"s{i}", "small", v) for i, v in enumerate(rng.normal(size=(5, 16)))])
    found = small.vector_search(rng.normal(size=16), 4)
    assert len(found) == 4 and all(node_id.startswith("s") for node_id, _ in found)


def test_removing_a_file_removes_only_its_vectors(pg: Engine, tmp_path: Path) -> None:
    store = new_store(pg, tmp_path)
    store.add([node("a", "f1", [1, 0]), node("b", "f2", [0, 1]), node("c", "f1", [1, 1])])
    store.delete("f1")
    assert store.ref_doc_ids() == {"f2"} and len(store) == 1
    assert [n.node_id for n in store.file_nodes("f2")] == ["b"]
    assert store.vector_search([1, 0], 4)[0][0] == "b"


def test_another_replica_sees_new_vectors_and_keywords_at_once(pg: Engine, tmp_path: Path) -> None:
    here = new_store(pg, tmp_path)
    there = PgVectorStore(pg, here.collection_id, tmp_path / "other-replica")
    here.add([node("a", "f1", [1, 0], "the pump needs oil")])
    assert there.keyword_search("pump", 4)[0][0] == "a"
    here.add([node("b", "f2", [0, 1], "the valve is checked weekly")])
    assert [n for n, _ in there.keyword_search("valve", 4)] == ["b"]
    here.delete("f1")
    assert there.keyword_search("pump", 4) == []
    assert [n for n, _ in there.vector_search([1, 0], 4)] == ["b"]


def test_a_model_of_another_dimension_is_refused_with_what_to_do(
    pg: Engine, tmp_path: Path
) -> None:
    store = new_store(pg, tmp_path)
    store.add([node("a", "f1", [1, 0, 0])])
    with pytest.raises(ValueError, match="re-index the collection"):
        store.add([node("b", "f1", [1, 0])])


def test_deleting_a_collection_deletes_its_vectors(pg: Engine, tmp_path: Path) -> None:
    kept = new_store(pg, tmp_path, name="Kept")
    kept.add([node("k", "f", [1, 0])])
    gone = new_store(pg, tmp_path, name="Gone")
    gone.add([node(f"g{i}", "f", [1, float(i)]) for i in range(10)])
    docs.delete_collection(pg, tmp_path, gone.collection_id, owner=ANN)
    assert vector_rows(pg) == 1 and len(gone) == 0 and len(kept) == 1


def test_deleting_a_users_data_deletes_their_vectors_and_no_one_elses(
    pg: Engine, tmp_path: Path
) -> None:
    anns = [new_store(pg, tmp_path, ANN, name) for name in ("One", "Two")]
    for store in anns:
        store.add([node("x", "f", [1, 0]), node("y", "f", [0, 1])])
    bobs = new_store(pg, tmp_path, BOB, "One")
    bobs.add([node("x", "f", [1, 0])])
    accounts.delete_user_data(pg, tmp_path, owner=ANN)
    assert vector_rows(pg) == 1 and [n for n, _ in bobs.vector_search([1, 0], 4)] == ["x"]

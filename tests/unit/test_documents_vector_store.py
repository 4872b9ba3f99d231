"""The NumPy vector store: exact top-k, persistence across processes, deleting a file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from llama_index.core import VectorStoreIndex
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery

from chatapp.services.vector_store import NumpyVectorStore


def node(node_id: str, ref: str, vector: list[float], page: int = 1) -> TextNode:
    item = TextNode(
        id_=node_id,
        text=f"text of {node_id}",
        embedding=vector,
        metadata={"file_name": f"{ref}.pdf", "page": page},
    )
    item.relationships = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=ref)}
    return item


def test_query_returns_the_closest_nodes_best_first_with_cosine_scores(tmp_path: Path) -> None:
    store = NumpyVectorStore(tmp_path)
    store.add(
        [node("a", "f1", [1, 0, 0]), node("b", "f1", [0.7, 0.7, 0]), node("c", "f2", [0, 0, 5])]
    )
    result = store.query(VectorStoreQuery(query_embedding=[2, 0, 0], similarity_top_k=2))
    assert result.ids == ["a", "b"]
    assert result.similarities[0] == pytest.approx(1.0)
    assert result.similarities[1] == pytest.approx(0.7071, abs=1e-3)
    assert result.nodes[0].get_content() == "text of a"
    assert result.nodes[0].metadata["page"] == 1


def test_a_reopened_store_sees_the_same_vectors_and_texts(tmp_path: Path) -> None:
    first = NumpyVectorStore(tmp_path)
    first.add([node("a", "f1", [1, 0]), node("b", "f2", [0, 1], page=7)])
    first.close()
    again = NumpyVectorStore(tmp_path)
    assert len(again) == 2
    result = again.query(VectorStoreQuery(query_embedding=[0, 1], similarity_top_k=1))
    assert result.ids == ["b"] and result.nodes[0].metadata["page"] == 7


def test_deleting_a_file_removes_its_vectors_from_memory_and_disk(tmp_path: Path) -> None:
    store = NumpyVectorStore(tmp_path)
    store.add([node("a", "f1", [1, 0]), node("b", "f2", [0.9, 0.1]), node("c", "f1", [0, 1])])
    store.delete("f1")
    assert store.ref_doc_ids() == {"f2"}
    result = store.query(VectorStoreQuery(query_embedding=[1, 0], similarity_top_k=5))
    assert result.ids == ["b"]
    assert NumpyVectorStore(tmp_path).ref_doc_ids() == {"f2"}
    assert len(list(tmp_path.glob("vectors.*.npy"))) == 1


def test_adding_a_node_again_replaces_it_instead_of_duplicating(tmp_path: Path) -> None:
    store = NumpyVectorStore(tmp_path)
    store.add([node("a", "f1", [1, 0])])
    store.add([node("a", "f1", [0, 1])])
    assert len(store) == 1
    assert store.query(VectorStoreQuery(query_embedding=[0, 1], similarity_top_k=1)).similarities[
        0
    ] == pytest.approx(1.0)


def test_vectors_of_another_dimension_are_refused_with_a_reindex_hint(tmp_path: Path) -> None:
    store = NumpyVectorStore(tmp_path)
    store.add([node("a", "f1", [1, 0, 0])])
    with pytest.raises(ValueError, match="re-index"):
        store.add([node("b", "f1", [1, 0])])


def test_llamaindex_retrievers_work_on_top_of_the_store(tmp_path: Path) -> None:
    store = NumpyVectorStore(tmp_path)
    rng = np.random.default_rng(0)
    store.add([node(f"n{i}", "f", list(rng.normal(size=8))) for i in range(20)])
    index = VectorStoreIndex.from_vector_store(store, embed_model=MockEmbedding(embed_dim=8))
    found = index.as_retriever(similarity_top_k=3).retrieve("anything")
    assert len(found) == 3
    assert found[0].score >= found[1].score >= found[2].score


def test_an_empty_store_answers_with_no_nodes(tmp_path: Path) -> None:
    result = NumpyVectorStore(tmp_path).query(
        VectorStoreQuery(query_embedding=[1, 0], similarity_top_k=3)
    )
    assert result.ids == [] and result.nodes == []

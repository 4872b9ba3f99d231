"""Hybrid search: BM25 keywords fused with vectors by reciprocal rank fusion, per collection,
kept on disk next to the vectors and updated when a file is added or removed."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

from chatapp.services import hybrid
from chatapp.services.vector_store import NumpyVectorStore


def node(node_id: str, ref: str, text: str, vector: list[float]) -> TextNode:
    item = TextNode(
        id_=node_id,
        text=text,
        embedding=vector,
        metadata={"file_name": f"{ref}.txt", "section": "Options"},
    )
    item.relationships = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=ref)}
    return item


def filled_store(root: Path) -> NumpyVectorStore:
    store = NumpyVectorStore(root)
    store.add(
        [
            node(
                "intro", "guide", "An introduction to the tool and what it is for.", [1.0, 0.0, 0.0]
            ),
            node(
                "flags",
                "guide",
                "The --frobnicate flag rewrites every cached entry.",
                [0.0, 1.0, 0.0],
            ),
            node(
                "cache",
                "notes",
                "Cached entries expire after a day unless pinned.",
                [0.7, 0.7, 0.0],
            ),
        ]
    )
    return store


def test_reciprocal_rank_fusion_puts_a_passage_both_rankings_found_first() -> None:
    fused = hybrid.reciprocal_rank_fusion([["a", "b", "c"], ["c", "d", "a"]])
    assert [node_id for node_id, _ in fused] == ["a", "c", "b", "d"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 63)
    assert fused[2][1] == pytest.approx(1 / 62)


def test_a_weighted_ranking_counts_that_many_times_a_plain_one() -> None:
    fused = hybrid.reciprocal_rank_fusion([["a", "b"], ["b", "a"]], weights=[1.0, 3.0])
    assert [node_id for node_id, _ in fused] == ["b", "a"]
    assert fused[0][1] == pytest.approx(1 / 62 + 3 / 61)


def test_fusion_counts_an_id_repeated_in_one_ranking_once() -> None:
    assert hybrid.reciprocal_rank_fusion([["a", "a", "b"]]) == hybrid.reciprocal_rank_fusion(
        [["a", "b"]]
    )


def test_keywords_find_the_passage_that_names_a_rare_word_the_vectors_rank_last(
    tmp_path: Path,
) -> None:
    store = filled_store(tmp_path)
    # The query's vector points at "intro"; only keywords know which passage says "frobnicate".
    asked = ["What does frobnicate do?"]
    vector = hybrid.search(store, lambda q: [1.0, 0.0, 0.0], asked, mode="vector", top_k=1)
    both = hybrid.search(
        store, lambda q: [1.0, 0.0, 0.0], asked, mode="hybrid", top_k=3, candidates=1
    )
    assert [h.node_id for h in vector.hits] == ["intro"]
    assert {h.node_id: h.found_by for h in both.hits} == {"intro": "vectors", "flags": "keywords"}


def test_keyword_search_stems_words_and_ignores_stop_words(tmp_path: Path) -> None:
    store = filled_store(tmp_path)
    assert next(i for i, _ in store.keyword_search("the pinning of entries", 5)) == "cache"
    assert store.keyword_search("the and of", 5) == []


def test_a_keyword_only_passage_is_kept_under_the_cutoff_and_a_vector_only_one_is_not(
    tmp_path: Path,
) -> None:
    store = filled_store(tmp_path)
    found = hybrid.search(
        store,
        lambda q: [1.0, 0.0, 0.0],
        ["frobnicate"],
        mode="hybrid",
        top_k=4,
        cutoff=0.8,
        candidates=2,
    )
    assert sorted(h.node_id for h in found.hits) == ["flags", "intro"]
    flags = next(h for h in found.hits if h.node_id == "flags")
    assert flags.found_by == "keywords" and flags.similarity == pytest.approx(0.0)
    assert found.below_cutoff == 1  # "cache": similarity 0.71, found by vectors only


def test_the_question_as_asked_and_its_rewrite_are_both_searched(tmp_path: Path) -> None:
    store = filled_store(tmp_path)
    vectors = {"frobnicate": [0.0, 1.0, 0.0], "pinned entries": [0.0, 0.0, 1.0]}
    found = hybrid.search(
        store,
        lambda q: vectors[q],
        ["pinned entries", "frobnicate", "FROBNICATE"],
        mode="hybrid",
        top_k=4,
    )
    assert found.queries == ["pinned entries", "frobnicate"]
    assert {"flags", "cache"} <= {h.node_id for h in found.hits}


def test_the_keyword_index_is_persisted_and_follows_files_added_and_removed(
    tmp_path: Path,
) -> None:
    store = filled_store(tmp_path)
    assert (tmp_path / "keywords" / "manifest.json").exists()
    store.close()
    reopened = NumpyVectorStore(tmp_path)
    assert [i for i, _ in reopened.keyword_search("frobnicate", 3)] == ["flags"]
    reopened.delete("guide")
    assert reopened.keyword_search("frobnicate", 3) == []
    reopened.add([node("new", "extra", "Frobnicating twice is harmless.", [0.0, 1.0, 0.0])])
    assert [i for i, _ in NumpyVectorStore(tmp_path).keyword_search("frobnicate", 3)] == ["new"]


def test_a_store_whose_keyword_index_is_missing_rebuilds_it_on_first_search(
    tmp_path: Path,
) -> None:
    import shutil

    filled_store(tmp_path).close()
    shutil.rmtree(tmp_path / "keywords")  # as left by a version of the app without keywords
    assert [i for i, _ in NumpyVectorStore(tmp_path).keyword_search("expire", 3)] == ["cache"]


def test_reranking_without_a_reranker_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs a reranker"):
        hybrid.search(filled_store(tmp_path), lambda q: [1.0, 0, 0], ["q"], mode="rerank")

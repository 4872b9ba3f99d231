"""Reranking through Baseten's BEI ``/sync/rerank`` route, against the emulator's reranker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from baseten_llm import BasetenRerank, errors
from chatapp.services import hybrid
from chatapp.services.rerank import (
    BasetenReranker,
    RerankerUnavailableError,
    RerankSpec,
    make_reranker,
)
from chatapp.settings import AppConfig

PASSAGES = [
    "Bananas are yellow fruit rich in potassium.",
    "The BM25 ranking function scores documents by term frequency.",
    "Ranking documents: BM25 uses term frequency and inverse document frequency.",
]


def make(emulator, model_id: str = "rrk12345", **kwargs) -> BasetenRerank:
    return BasetenRerank(
        model_id, api_key=emulator.api_key, deployment_url=emulator.deployment_url, **kwargs
    )


def test_the_reranker_orders_passages_by_relevance_and_sends_beis_body(emulator) -> None:
    results = make(emulator).rerank("How does BM25 use inverse document frequency?", PASSAGES)
    assert [r.index for r in results] == [2, 1, 0]
    assert results[0].score > results[1].score > results[2].score
    assert all(0.0 < r.score < 1.0 for r in results)
    sent = [r for r in emulator.requests() if r["path"].endswith("/sync/rerank")][-1]
    assert sent["path"] == "/model-rrk12345/environments/production/sync/rerank"
    assert sent["body"]["texts"] == PASSAGES and sent["body"]["truncate"] is True


def test_the_async_reranker_gives_the_same_order(emulator) -> None:
    results = asyncio.run(make(emulator).arerank("yellow fruit", PASSAGES))
    assert results[0].index == 0


def test_an_llm_deployment_has_no_rerank_route_and_the_error_says_which_model(emulator) -> None:
    with pytest.raises(errors.NotFoundError, match="abcd1234"):
        make(emulator, "abcd1234").rerank("query", ["text"])


def test_hybrid_search_reranked_by_the_baseten_reranker_puts_the_best_passage_first(
    emulator,
) -> None:
    config = AppConfig(
        data_dir=Path("."), database_url="sqlite://", deployment_url=emulator.deployment_url
    )
    reranker = make_reranker(RerankSpec("baseten", "rrk12345"), config, emulator.api_key)
    assert isinstance(reranker, BasetenReranker)
    store = _TinyStore(PASSAGES)
    found = hybrid.search(
        store,
        lambda q: [1.0, 0.0],
        ["inverse document frequency BM25"],
        mode="rerank",
        top_k=2,
        reranker=reranker,
    )
    assert [h.node_id for h in found.hits] == ["n2", "n1"]
    assert found.hits[0].rerank_score is not None and "rerank" in found.timings


def test_a_reranker_without_a_model_id_is_refused_with_a_plain_message() -> None:
    with pytest.raises(RerankerUnavailableError, match="Name the reranker"):
        make_reranker(RerankSpec("baseten", " "))


class _TinyStore:
    """Vectors rank passages in input order (first = most similar); no keyword index."""

    def __init__(self, texts: list[str]) -> None:
        from llama_index.core.schema import TextNode

        self.nodes = [TextNode(id_=f"n{i}", text=t) for i, t in enumerate(texts)]

    def vector_search(self, embedding, k):
        return [(n.node_id, 0.9 - 0.1 * i) for i, n in enumerate(self.nodes)][:k]

    def get_nodes(self, node_ids=None):
        return [n for n in self.nodes if node_ids is None or n.node_id in node_ids]


def test_the_app_s_reranker_sends_through_the_pool_it_is_given(emulator) -> None:
    import httpx

    sent: list[str] = []
    config = AppConfig(
        data_dir=Path("."), database_url="sqlite://", deployment_url=emulator.deployment_url
    )
    with httpx.Client(
        event_hooks={"request": [lambda request: sent.append(request.url.path)]}
    ) as pool:
        reranker = make_reranker(
            RerankSpec("baseten", "rrk12345"), config, emulator.api_key, http_client=pool
        )
        store = _TinyStore(PASSAGES)
        hybrid.search(
            store, lambda q: [1.0, 0.0], ["BM25"], mode="rerank", top_k=2, reranker=reranker
        )
    assert sent and all(path.startswith("/model-rrk12345/") for path in sent)

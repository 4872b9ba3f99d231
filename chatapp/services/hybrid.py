"""Find a question's passages: vectors, BM25 keywords, or both fused, optionally reranked.

Modes (the Documents page offers each, and shows under every answer which one was used):

- ``vector``: cosine similarity of the question's embedding to each chunk's.
- ``hybrid``: the vector ranking and the BM25 keyword ranking
  (:mod:`chatapp.services.keyword_index`) merged by weighted reciprocal rank fusion (RRF): a
  passage scores ``sum(weight / (RRF_K + rank))`` over the rankings it appears in, so one
  found by both rises above one found by either alone, and raw scores on different scales
  never need to be compared. Keyword rankings weigh :data:`KEYWORD_WEIGHT` times a vector
  ranking: on ``bench/bench_retrieval.py`` (real manuals) BM25 alone beats MiniLM vectors
  clearly, and equal weights let the weaker ranking pull good keyword hits down.
- ``rerank``: ``hybrid``'s fused candidates re-ordered by a reranker
  (:mod:`chatapp.services.rerank`) that reads question and passage together.

Several queries (the question as asked and the model's standalone rewrite of a follow-up) each
contribute their rankings to the same fusion, so retrieval never depends on the rewrite alone.

The similarity cutoff applies to vector similarity: a passage is kept when it is at least that
similar to one of the queries, or when the keyword search found it (it contains the
question's words). The page shows per passage which search found it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from llama_index.core.vector_stores.types import VectorStoreQuery

Mode = Literal["vector", "hybrid", "rerank"]
MODES: dict[str, str] = {
    "vector": "Vectors only",
    "hybrid": "Hybrid: keywords + vectors",
    "rerank": "Hybrid + reranking",
}
#: The shipped default: the best on ``bench/bench_retrieval.py`` that needs no extra deployment.
DEFAULT_MODE: Mode = "hybrid"
RRF_K = 60
#: Weight of a keyword ranking against a vector ranking's 1 in the fusion. Chosen on
#: ``bench/bench_retrieval.py`` (see the README's retrieval table): 1 (plain RRF) lost to
#: BM25 alone there; 3 matches or beats it on every measure and keeps the vectors' lead on
#: paraphrased questions.
KEYWORD_WEIGHT = 3.0
#: How many passages each ranking contributes to the fusion (and the reranker reads).
CANDIDATES = 20


class Reranker(Protocol):
    """Scores passages for a query; higher is more relevant. One score per text, in order."""

    def rerank(self, query: str, texts: Sequence[str]) -> list[float]: ...


@dataclass
class Hit:
    """One passage found for a question, with how it was found."""

    node_id: str
    node: Any = None
    similarity: float | None = None
    vector: bool = False
    keyword: bool = False
    fused: float = 0.0
    rerank_score: float | None = None

    @property
    def found_by(self) -> str:
        """``both``, ``keywords`` or ``vectors``."""
        if self.vector and self.keyword:
            return "both"
        return "keywords" if self.keyword else "vectors"


@dataclass
class Found:
    """The passages kept for a question, best first, and what the search did."""

    hits: list[Hit]
    mode: Mode
    queries: list[str]
    seconds: float
    below_cutoff: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    """Merge rankings (ids, best first) into one: ``sum(weight / (k + rank))``, rank from 1
    (every weight 1 unless ``weights`` gives one per ranking).

    Ties keep the order in which ids were first seen, so the result is deterministic.
    """
    scores: dict[str, float] = {}
    for index, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else weights[index]
        for rank, node_id in enumerate(dict.fromkeys(ranking), start=1):
            scores[node_id] = scores.get(node_id, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


def distinct_queries(queries: Sequence[str]) -> list[str]:
    """The non-empty queries, each once (case and spacing ignored), in order."""
    seen: dict[str, str] = {}
    for query in queries:
        text = " ".join((query or "").split())
        if text and text.lower() not in seen:
            seen[text.lower()] = text
    return list(seen.values())


def search(
    store: Any,
    embed_query: Callable[[str], Sequence[float]],
    queries: Sequence[str],
    *,
    mode: Mode = DEFAULT_MODE,
    top_k: int = 4,
    cutoff: float = 0.0,
    reranker: Reranker | None = None,
    candidates: int = CANDIDATES,
    keyword_weight: float = KEYWORD_WEIGHT,
) -> Found:
    """The ``top_k`` best passages of ``store`` for ``queries`` (see the module's docstring)."""
    if mode == "rerank" and reranker is None:
        raise ValueError("Reranking needs a reranker: choose one, or search without it.")
    started = time.perf_counter()
    asked = distinct_queries(queries)
    timings: dict[str, float] = {}
    hits: dict[str, Hit] = {}
    rankings: list[list[str]] = []
    weights: list[float] = []
    with _timed(timings, "embed"):
        embeddings = [list(embed_query(q)) for q in asked]
    with _timed(timings, "vector"):
        for embedding in embeddings:
            rankings.append(_vector_ranking(store, embedding, candidates, hits))
            weights.append(1.0)
    if mode in ("hybrid", "rerank") and hasattr(store, "keyword_search"):
        with _timed(timings, "keywords"):
            for query in asked:
                found = store.keyword_search(query, candidates)
                for node_id, _ in found:
                    hits.setdefault(node_id, Hit(node_id)).keyword = True
                rankings.append([node_id for node_id, _ in found])
                weights.append(keyword_weight)
    fused = reciprocal_rank_fusion(rankings, weights=weights)[: max(candidates, top_k)]
    ordered = [hits[node_id] for node_id, _ in fused]
    for hit, (_, score) in zip(ordered, fused):
        hit.fused = score
    _fill_similarities(store, ordered, embeddings)
    kept = [h for h in ordered if h.keyword or (h.similarity or 0.0) >= cutoff]
    _fill_nodes(store, kept)
    kept = [h for h in kept if h.node is not None]
    if mode == "rerank" and kept:
        with _timed(timings, "rerank"):
            kept = _reranked(reranker, asked[-1], kept)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    return Found(
        kept[:top_k], mode, asked, seconds, below_cutoff=len(ordered) - len(kept), timings=timings
    )


class _timed:
    """Adds the block's wall time to ``timings[name]``."""

    def __init__(self, timings: dict[str, float], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        elapsed = time.perf_counter() - self.started
        self.timings[self.name] = self.timings.get(self.name, 0.0) + elapsed


def _vector_ranking(
    store: Any, embedding: list[float], candidates: int, hits: dict[str, Hit]
) -> list[str]:
    if hasattr(store, "vector_search"):
        found = store.vector_search(embedding, candidates)
        nodes: dict[str, Any] = {}
    else:  # any LlamaIndex vector store
        result = store.query(
            VectorStoreQuery(query_embedding=embedding, similarity_top_k=candidates)
        )
        found = list(zip(result.ids or [], result.similarities or []))
        nodes = {n.node_id: n for n in result.nodes or []}
    for node_id, score in found:
        hit = hits.setdefault(node_id, Hit(node_id))
        hit.vector = True
        hit.similarity = max(hit.similarity or -1.0, float(score))
        hit.node = hit.node or nodes.get(node_id)
    return [node_id for node_id, _ in found]


def _fill_similarities(store: Any, hits: list[Hit], embeddings: list[list[float]]) -> None:
    """Vector similarity for passages only the keyword search found (for cutoff and display)."""
    missing = [h.node_id for h in hits if h.similarity is None]
    if not missing or not hasattr(store, "similarities"):
        return
    by_id = {h.node_id: h for h in hits}
    for embedding in embeddings:
        for node_id, score in store.similarities(missing, embedding).items():
            hit = by_id[node_id]
            hit.similarity = max(hit.similarity if hit.similarity is not None else -1.0, score)


def _fill_nodes(store: Any, hits: list[Hit]) -> None:
    missing = [h.node_id for h in hits if h.node is None]
    if missing:
        nodes = {n.node_id: n for n in store.get_nodes(node_ids=missing)}
        for hit in hits:
            hit.node = hit.node or nodes.get(hit.node_id)


def _reranked(reranker: Reranker, query: str, hits: list[Hit]) -> list[Hit]:
    scores = reranker.rerank(query, [h.node.get_content() for h in hits])
    for hit, score in zip(hits, scores):
        hit.rerank_score = float(score)
    return sorted(hits, key=lambda h: -(h.rerank_score or 0.0))

"""``BasetenRerank``: score passages against a query with a BEI reranker deployment.

Baseten's BEI serves cross-encoder rerankers at ``{deployment_url}{target}/sync/rerank``:
the body ``{"query", "texts", "raw_scores", "return_text", "truncate",
"truncation_direction"}`` returns ``[{"index", "score", "text"?}]``, best first. Same auth,
retries and errors as the LLM; no network I/O at construction.

    from baseten_llm.rerank import BasetenRerank
    reranker = BasetenRerank(model_id="rrk12345")
    for result in reranker.rerank("What is BM25?", ["a ranking function", "a fruit"]):
        print(result.index, result.score)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from ._http import AsyncHTTPTransport, HTTPTransport
from .config import ClientConfig
from .errors import APIStatusError
from .targets import DedicatedTarget, validate_model_id

__all__ = ["BasetenRerank", "RerankResult", "rerank_results_from_json"]


@dataclass(frozen=True)
class RerankResult:
    """One passage's relevance: ``index`` into the texts sent, and its ``score``."""

    index: int
    score: float


def rerank_results_from_json(data: Any, expected: int) -> list[RerankResult]:
    """The results of a ``/sync/rerank`` reply, best first; checks every index is in range."""
    rows = (
        data
        if isinstance(data, list)
        else (data or {}).get("results")
        if isinstance(data, dict)
        else None
    )
    if not isinstance(rows, list):
        raise APIStatusError("The rerank reply is not a list of results.", status_code=200)
    results = []
    for row in rows:
        index = row.get("index") if isinstance(row, dict) else None
        score = row.get("score") if isinstance(row, dict) else None
        if (
            not isinstance(index, int)
            or not 0 <= index < expected
            or not isinstance(score, (int, float))
        ):
            raise APIStatusError(
                f"The rerank reply has an invalid result: {row!r:.100}.", status_code=200
            )
        results.append(RerankResult(index, float(score)))
    return sorted(results, key=lambda r: -r.score)


class BasetenRerank:
    """A BEI reranker deployment, e.g. ``BasetenRerank(model_id="rrk12345")``."""

    def __init__(
        self,
        model_id: str,
        api_key: str | None = None,
        *,
        environment: str | None = None,
        deployment_id: str | None = None,
        development: bool = False,
        deployment_url: str | None = None,
        truncate: bool = True,
        raw_scores: bool = False,
        max_retries: int = 3,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.model_id = validate_model_id(model_id)
        self.truncate, self.raw_scores = truncate, raw_scores
        self._target = DedicatedTarget(environment, development, deployment_id)
        self._config = ClientConfig.resolve(
            api_key=api_key,
            deployment_url=deployment_url,
            timeout_s=timeout,
            connect_timeout_s=connect_timeout,
            max_retries=max_retries,
        )
        self._transport = HTTPTransport(self._config, client=http_client)
        self._atransport = AsyncHTTPTransport(self._config, client=async_http_client)

    @property
    def url(self) -> str:
        """The rerank endpoint."""
        return self._target.url(self._config.model_base_url(self.model_id), "sync/rerank")

    def _body(self, query: str, texts: Sequence[str]) -> dict[str, Any]:
        return {
            "query": query,
            "texts": list(texts),
            "raw_scores": self.raw_scores,
            "return_text": False,
            "truncate": self.truncate,
            "truncation_direction": "Right",
        }

    def _hint(self) -> tuple[str, Sequence[str]]:
        hint = (
            f"Check the model id {self.model_id!r} and {self._target.describe()} of the "
            "reranker deployment."
        )
        return (hint, ())

    def rerank(self, query: str, texts: Sequence[str]) -> list[RerankResult]:
        """Each text's relevance to ``query``, best first (an empty list for no texts)."""
        if not texts:
            return []
        data = self._transport.request_json(
            "POST", self.url, json_body=self._body(query, texts), not_found_hint=self._hint
        )
        return rerank_results_from_json(data, len(texts))

    async def arerank(self, query: str, texts: Sequence[str]) -> list[RerankResult]:
        """Async twin of :meth:`rerank`."""
        if not texts:
            return []
        data = await self._atransport.request_json(
            "POST", self.url, json_body=self._body(query, texts), not_found_hint=self._hint
        )
        return rerank_results_from_json(data, len(texts))

    def close(self) -> None:
        """Close the HTTP client (unless it was passed in)."""
        self._transport.close()

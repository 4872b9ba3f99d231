"""Rerankers for hybrid search: a Baseten BEI reranker deployment, or a local cross-encoder.

Both read the question and each passage together and score how well the passage answers it,
which a bi-encoder (one vector per text) cannot. :func:`make_reranker` builds one from a
:class:`RerankSpec`; the Documents page offers them under "Hybrid + reranking".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

RerankKind = Literal["baseten", "local"]
#: A small public cross-encoder; loaded by name with sentence-transformers (from its cache,
#: or downloaded where the machine may download models).
DEFAULT_LOCAL_MODEL = "cross-encoder/ms-marco-MiniLM-L-6-v2"


class RerankerUnavailableError(Exception):
    """The reranker cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class RerankSpec:
    """Which reranker: ``baseten`` (a BEI deployment's model id) or ``local`` (a model name)."""

    kind: RerankKind
    model: str

    @property
    def label(self) -> str:
        where = "Baseten reranker" if self.kind == "baseten" else "local cross-encoder"
        return f"{where} {self.model}"


class BasetenReranker:
    """Scores through :class:`baseten_llm.rerank.BasetenRerank` (``/sync/rerank``)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def rerank(self, query: str, texts: Sequence[str]) -> list[float]:
        scores = [0.0] * len(texts)
        for result in self.client.rerank(query, list(texts)):
            scores[result.index] = result.score
        return scores


class LocalCrossEncoder:
    """A sentence-transformers ``CrossEncoder`` loaded by model name, once, on first use."""

    def __init__(self, model_name: str, *, device: str = "cpu") -> None:
        self.model_name, self.device = model_name, device
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                from sentence_transformers import CrossEncoder

                self._model = CrossEncoder(self.model_name, device=self.device)
            except Exception as exc:
                raise RerankerUnavailableError(
                    f"The cross-encoder '{self.model_name}' could not be loaded: it is not on "
                    "this machine and could not be downloaded. Use a Baseten reranker "
                    "deployment, or search without reranking."
                ) from exc
        return self._model

    def rerank(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        scores = self._load().predict([(query, t) for t in texts], show_progress_bar=False)
        return [float(s) for s in scores]


def make_reranker(
    spec: RerankSpec, config: Any = None, api_key: str | None = None, http_client: Any = None
) -> Any:
    """A reranker for ``spec``; Baseten ones use the app's deployment URL and key, and send
    through ``http_client`` (the app's shared pool) when one is given."""
    if not spec.model.strip():
        raise RerankerUnavailableError(
            "Name the reranker: a model id of a Baseten reranker "
            "deployment, or a local cross-encoder model name."
        )
    if spec.kind == "local":
        return LocalCrossEncoder(spec.model.strip())
    from baseten_llm.errors import ConfigurationError
    from baseten_llm.rerank import BasetenRerank

    try:
        client = BasetenRerank(
            spec.model.strip(),
            api_key=api_key,
            deployment_url=getattr(config, "deployment_url", None),
            http_client=http_client,
        )
    except ConfigurationError as exc:
        raise RerankerUnavailableError(str(exc)) from exc
    return BasetenReranker(client)

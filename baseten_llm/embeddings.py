"""``BasetenEmbedding``: LlamaIndex embeddings from a BEI deployment's OpenAI-compatible route
``{deployment_url}{target}/sync/v1/embeddings``. Same auth, retries and errors as the LLM.

LlamaIndex splits inputs into batches of ``embed_batch_size``; each batch is one request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import Field, PrivateAttr

from ._http import AsyncHTTPTransport, HTTPTransport
from .config import ClientConfig
from .errors import APIStatusError
from .targets import DedicatedTarget, validate_model_id

__all__ = ["BasetenEmbedding", "embeddings_from_json"]


def embeddings_from_json(data: Any, expected: int) -> list[list[float]]:
    """The vectors of an OpenAI ``list`` reply, in input order."""
    rows = sorted((data or {}).get("data") or [], key=lambda row: row.get("index", 0))
    vectors = [list(row["embedding"]) for row in rows]
    if len(vectors) != expected:
        raise APIStatusError(
            f"The embeddings reply has {len(vectors)} vectors for {expected} inputs.",
            status_code=200,
        )
    return vectors


class BasetenEmbedding(BaseEmbedding):
    """Embeddings from a dedicated BEI deployment, e.g. ``BasetenEmbedding(model_id="emb12345")``."""

    model_id: str = Field(description="The BEI deployment's model id (8 characters).")
    environment: str | None = Field(default=None, description="Environment (default production).")
    deployment_id: str | None = Field(default=None, description="A specific deployment.")
    development: bool = Field(default=False, description="Call the development deployment.")
    deployment_url: str | None = Field(default=None, description="Template with {model_id}.")
    dimensions: int | None = Field(
        default=None, description="Requested vector size, if the engine supports it."
    )
    max_retries: int = Field(default=3, ge=0)
    timeout: float = Field(default=120.0, description="Read timeout in seconds.")
    connect_timeout: float = Field(default=10.0, description="Connect timeout in seconds.")

    _config: ClientConfig = PrivateAttr()
    _target: DedicatedTarget = PrivateAttr()
    _transport: HTTPTransport = PrivateAttr()
    _atransport: AsyncHTTPTransport = PrivateAttr()

    def __init__(
        self,
        model_id: str,
        api_key: str | None = None,
        *,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("model_name", model_id)
        super().__init__(model_id=validate_model_id(model_id), **kwargs)
        self._target = DedicatedTarget(self.environment, self.development, self.deployment_id)
        self._config = ClientConfig.resolve(
            api_key=api_key,
            deployment_url=self.deployment_url,
            timeout_s=self.timeout,
            connect_timeout_s=self.connect_timeout,
            max_retries=self.max_retries,
        )
        self._transport = HTTPTransport(self._config, client=http_client)
        self._atransport = AsyncHTTPTransport(self._config, client=async_http_client)

    @classmethod
    def class_name(cls) -> str:
        """Name used by LlamaIndex serialization."""
        return "BasetenEmbedding"

    @property
    def url(self) -> str:
        """The embeddings endpoint."""
        return self._target.url(self._config.model_base_url(self.model_id), "sync/v1/embeddings")

    def _body(self, texts: list[str]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "input": texts,
            "model": self.model_name,
            "encoding_format": "float",
        }
        if self.dimensions:
            body["dimensions"] = self.dimensions
        return body

    def _hint(self) -> tuple[str, Sequence[str]]:
        return (
            f"Check the model id {self.model_id!r} and {self._target.describe()} of the embeddings deployment.",
            (),
        )

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        """One request for a batch of texts."""
        data = self._transport.request_json(
            "POST", self.url, json_body=self._body(texts), not_found_hint=self._hint
        )
        return embeddings_from_json(data, len(texts))

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        """Async twin of :meth:`_get_text_embeddings`."""
        data = await self._atransport.request_json(
            "POST", self.url, json_body=self._body(texts), not_found_hint=self._hint
        )
        return embeddings_from_json(data, len(texts))

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self._aget_text_embeddings([text]))[0]

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return await self._aget_text_embedding(query)

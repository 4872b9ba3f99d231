"""Baseten for LlamaIndex over httpx: Model APIs and dedicated deployments, async jobs,
webhook verification and BEI embeddings.

    from baseten_llm import Baseten
    llm = Baseten(model_id="deepseek-ai/DeepSeek-V3.1")          # key from BASETEN_API_KEY
    print(llm.complete("Paul Graham is").text)

``Baseten``, ``BasetenEmbedding`` and the stream objects (``ChatStream``, ``AsyncChatStream``,
``StreamMetrics``) are loaded on first use (PEP 562): they need
``llama_index.core``, which takes about a second to import, while the errors, webhook, jobs,
catalog and config modules do not. ``import baseten_llm.webhooks`` therefore stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors
from .catalog import ModelInfo
from .config import ClientConfig
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncModeError,
    AuthenticationError,
    BasetenError,
    ConfigurationError,
    InvalidModelIdError,
    MissingAPIKeyError,
    NotFoundError,
    RateLimitError,
    StreamInterruptedError,
    UnknownModelError,
)
from .jobs import AsyncQueueStatus, AsyncRequestInfo, AsyncRequestStatus, WebhookStatus
from .webhooks import WebhookPayload, verify_webhook

if TYPE_CHECKING:
    from ._streams import AsyncChatStream, ChatStream, StreamMetrics
    from .embeddings import BasetenEmbedding
    from .llm import Baseten
    from .rerank import BasetenRerank

#: Public names loaded on first access by :func:`__getattr__` (their modules import
#: llama_index.core, or are rarely needed).
_LAZY = {
    "Baseten": ".llm",
    "BasetenEmbedding": ".embeddings",
    "BasetenRerank": ".rerank",
    "ChatStream": "._streams",
    "AsyncChatStream": "._streams",
    "StreamMetrics": "._streams",
}

__all__ = [
    "Baseten",
    "BasetenEmbedding",
    "BasetenRerank",
    "ChatStream",
    "AsyncChatStream",
    "StreamMetrics",
    "ClientConfig",
    "ModelInfo",
    "AsyncRequestInfo",
    "AsyncRequestStatus",
    "AsyncQueueStatus",
    "WebhookStatus",
    "WebhookPayload",
    "verify_webhook",
    "errors",
    "BasetenError",
    "ConfigurationError",
    "MissingAPIKeyError",
    "InvalidModelIdError",
    "AsyncModeError",
    "UnknownModelError",
    "APIStatusError",
    "AuthenticationError",
    "NotFoundError",
    "RateLimitError",
    "APIConnectionError",
    "APITimeoutError",
    "StreamInterruptedError",
]


def __getattr__(name: str) -> Any:
    """Import the names in ``_LAZY`` (``Baseten``, ``BasetenEmbedding``, ...) on first access."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module_name, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

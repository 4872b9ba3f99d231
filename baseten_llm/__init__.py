"""Baseten for LlamaIndex over httpx: Model APIs and dedicated deployments, async jobs,
webhook verification and BEI embeddings.

    from baseten_llm import Baseten
    llm = Baseten(model_id="deepseek-ai/DeepSeek-V3.1")          # key from BASETEN_API_KEY
    print(llm.complete("Paul Graham is").text)
"""

from . import errors
from .catalog import ModelInfo
from .config import ClientConfig
from .embeddings import BasetenEmbedding
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
from .llm import Baseten
from .webhooks import WebhookPayload, verify_webhook

__all__ = [
    "Baseten",
    "BasetenEmbedding",
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

"""Baseten async inference ("async requests"): submit, status, cancel and queue status.

Parameters are validated locally with clear errors before anything is sent, including the
256 KiB body limit (:class:`PayloadTooLargeError`). Routes, below the deployment URL::

    POST   {target}/async_predict       submit -> {"request_id"}
    GET    /async_request/{request_id}  status -> AsyncRequestInfo
    DELETE /async_request/{request_id}  cancel -> {"canceled": bool, ...}
    GET    {target}/async_queue_status  queue  -> AsyncQueueStatus
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ._http import AsyncHTTPTransport, HTTPTransport, NotFoundHint, encode_json_body
from .errors import ConfigurationError, PayloadTooLargeError

__all__ = [
    "AsyncRequestStatus",
    "WebhookStatus",
    "AsyncRequestInfo",
    "AsyncQueueStatus",
    "build_async_body",
    "validate_retry_config",
    "MAX_ASYNC_BODY_BYTES",
    "JobsClient",
]

MAX_ASYNC_BODY_BYTES = 256 * 1024
_RETRY_LIMITS = {
    "max_attempts": (1, 10),
    "initial_delay_ms": (0, 10_000),
    "max_delay_ms": (0, 60_000),
}


class AsyncRequestStatus(str, Enum):
    """Baseten's async request states."""

    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELED = "CANCELED"
    WEBHOOK_FAILED = "WEBHOOK_FAILED"


class WebhookStatus(str, Enum):
    """Baseten's webhook delivery states."""

    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    NO_WEBHOOK_PROVIDED = "NO_WEBHOOK_PROVIDED"


_FINISHED = {
    AsyncRequestStatus.SUCCEEDED,
    AsyncRequestStatus.FAILED,
    AsyncRequestStatus.EXPIRED,
    AsyncRequestStatus.CANCELED,
    AsyncRequestStatus.WEBHOOK_FAILED,
}


@dataclass(frozen=True)
class AsyncRequestInfo:
    """The status record of one async request (Baseten never stores its output)."""

    request_id: str
    status: AsyncRequestStatus
    webhook_status: WebhookStatus | None = None
    model_id: str | None = None
    deployment_id: str | None = None
    created_at: str | None = None
    status_at: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_finished(self) -> bool:
        """True once the request will not change state any more."""
        return self.status in _FINISHED

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AsyncRequestInfo:
        """Parse the ``GET /async_request/{id}`` reply."""
        webhook = data.get("webhook_status")
        return cls(
            request_id=str(data.get("request_id", "")),
            status=AsyncRequestStatus(data["status"]),
            webhook_status=WebhookStatus(webhook) if webhook else None,
            model_id=data.get("model_id") or data.get("chain_id"),
            deployment_id=data.get("deployment_id"),
            created_at=data.get("created_at"),
            status_at=data.get("status_at"),
            errors=list(data.get("errors") or []),
            raw=dict(data),
        )


@dataclass(frozen=True)
class AsyncQueueStatus:
    """How many requests wait and run on a deployment."""

    model_id: str | None
    deployment_id: str | None
    num_queued_requests: int
    num_in_progress_requests: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AsyncQueueStatus:
        """Parse the ``GET {target}/async_queue_status`` reply."""
        return cls(
            model_id=data.get("model_id"),
            deployment_id=data.get("deployment_id"),
            num_queued_requests=int(data.get("num_queued_requests") or 0),
            num_in_progress_requests=int(data.get("num_in_progress_requests") or 0),
        )


def _check_range(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigurationError(f"{name} must be an integer from {low} to {high}, got {value!r}.")


def validate_retry_config(config: Mapping[str, Any] | None) -> dict[str, int] | None:
    """Check ``inference_retry_config`` keys and ranges; return a plain dict."""
    if config is None:
        return None
    unknown = set(config) - set(_RETRY_LIMITS)
    if unknown:
        raise ConfigurationError(
            f"inference_retry_config has unknown keys {sorted(unknown)}; allowed: {sorted(_RETRY_LIMITS)}."
        )
    for key, value in config.items():
        _check_range(f"inference_retry_config.{key}", value, *_RETRY_LIMITS[key])
    return dict(config)


def build_async_body(
    model_input: Any,
    *,
    webhook_endpoint: str | None = None,
    priority: int = 0,
    max_time_in_queue_seconds: int = 600,
    inference_retry_config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The validated ``async_predict`` body; raises before anything is sent."""
    _check_range("priority", priority, 0, 2)
    _check_range("max_time_in_queue_seconds", max_time_in_queue_seconds, 10, 259_200)
    if webhook_endpoint is not None and not webhook_endpoint.startswith(("https://", "http://")):
        raise ConfigurationError(
            f"webhook_endpoint must be an http(s) URL, got {webhook_endpoint!r}."
        )
    body: dict[str, Any] = {"model_input": model_input}
    if webhook_endpoint:
        body["webhook_endpoint"] = webhook_endpoint
    # Baseten's defaults are left implicit so the body stays the documented minimum.
    if priority != 0:
        body["priority"] = priority
    if max_time_in_queue_seconds != 600:
        body["max_time_in_queue_seconds"] = max_time_in_queue_seconds
    retry = validate_retry_config(inference_retry_config)
    if retry:
        body["inference_retry_config"] = retry
    check_body_size(body)
    return body


def check_body_size(body: Any) -> int:
    """Size of ``body`` as sent; :class:`PayloadTooLargeError` over 256 KiB, and
    :class:`ConfigurationError` for a value JSON cannot carry (NaN, infinity)."""
    size = len(encode_json_body(body))
    if size > MAX_ASYNC_BODY_BYTES:
        raise PayloadTooLargeError(
            f"The async request body is {size} bytes; Baseten accepts at most {MAX_ASYNC_BODY_BYTES} "
            "(256 KiB). Send a reference (e.g. a URL) to large inputs instead.",
            status_code=413,
        )
    return size


@dataclass
class JobsClient:
    """Async-request calls for one dedicated model; URLs are given by the caller."""

    model_base_url: str
    target_url: str
    transport: HTTPTransport
    atransport: AsyncHTTPTransport
    not_found_hint: NotFoundHint | None = None

    def _status_url(self, request_id: str) -> str:
        if not request_id or "/" in request_id:
            raise ConfigurationError(f"{request_id!r} is not an async request id.")
        return f"{self.model_base_url}/async_request/{request_id}"

    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST an already validated body; return the reply (with ``request_id``)."""
        return self.transport.request_json(
            "POST",
            f"{self.target_url}/async_predict",
            json_body=body,
            not_found_hint=self.not_found_hint,
        )

    async def asubmit(self, body: dict[str, Any]) -> dict[str, Any]:
        """Async twin of :meth:`submit`."""
        return await self.atransport.request_json(
            "POST",
            f"{self.target_url}/async_predict",
            json_body=body,
            not_found_hint=self.not_found_hint,
        )

    def status(self, request_id: str) -> AsyncRequestInfo:
        """The request's status record."""
        return AsyncRequestInfo.from_json(
            self.transport.request_json("GET", self._status_url(request_id))
        )

    async def astatus(self, request_id: str) -> AsyncRequestInfo:
        """Async twin of :meth:`status`."""
        return AsyncRequestInfo.from_json(
            await self.atransport.request_json("GET", self._status_url(request_id))
        )

    def cancel(self, request_id: str) -> bool:
        """True when the request was canceled (only QUEUED requests can be)."""
        reply = self.transport.request_json("DELETE", self._status_url(request_id))
        return bool((reply or {}).get("canceled"))

    async def acancel(self, request_id: str) -> bool:
        """Async twin of :meth:`cancel`."""
        reply = await self.atransport.request_json("DELETE", self._status_url(request_id))
        return bool((reply or {}).get("canceled"))

    def queue_status(self) -> AsyncQueueStatus:
        """Queued and in-progress counts of the target deployment."""
        return AsyncQueueStatus.from_json(
            self.transport.request_json(
                "GET", f"{self.target_url}/async_queue_status", not_found_hint=self.not_found_hint
            )
        )

    async def aqueue_status(self) -> AsyncQueueStatus:
        """Async twin of :meth:`queue_status`."""
        return AsyncQueueStatus.from_json(
            await self.atransport.request_json(
                "GET", f"{self.target_url}/async_queue_status", not_found_hint=self.not_found_hint
            )
        )

"""HTTP transport over httpx: auth header, retries with backoff, and error mapping.

Status codes become :mod:`baseten_llm.errors` classes in exactly one place,
:func:`error_from_response`. Retries (429, 500/502/503/504, connection failures and connect
timeouts; never other 4xx, never a read timeout, never a stream already being read) follow
:func:`retry_delay`, a pure function: exponential backoff with full jitter, capped, honouring a
``Retry-After`` header. The sync and async transports share all of that and differ only in the
network calls and the sleep.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from .config import ClientConfig
from .errors import (
    STATUS_ERRORS,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BasetenError,
    ConfigurationError,
    NotFoundError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
)

__all__ = [
    "HTTPTransport",
    "AsyncHTTPTransport",
    "NotFoundHint",
    "error_from_response",
    "parse_retry_after",
    "RetryNotice",
    "retry_delay",
    "is_retryable",
    "decode_json",
    "stream_error",
]

logger = logging.getLogger("baseten_llm")

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0
RETRY_AFTER_CAP_S = 60.0

#: Called on a 404 to explain it: returns (hint text, suggested names).
NotFoundHint = Callable[[], tuple[str, Sequence[str]]]


# ----------------------------------------------------------------------------- pure policy
def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def retry_delay(
    attempt: int,
    *,
    retry_after: float | None = None,
    base: float = BACKOFF_BASE_S,
    cap: float = BACKOFF_CAP_S,
    retry_after_cap: float = RETRY_AFTER_CAP_S,
    rand: Callable[[], float] = random.random,
) -> float:
    """Delay before retry number ``attempt + 1`` (attempt counts from 0).

    With a server hint, wait exactly that (capped at ``retry_after_cap``); otherwise full
    jitter: a uniform draw in ``[0, min(cap, base * 2**attempt)]``.
    """
    if retry_after is not None:
        return min(max(0.0, retry_after), retry_after_cap)
    return rand() * min(cap, base * (2**attempt))


def is_retryable(error: BasetenError) -> bool:
    """True for errors worth sending the same request again."""
    if isinstance(error, APIStatusError):
        return error.status_code in RETRYABLE_STATUS
    if isinstance(error, APITimeoutError):
        return bool(getattr(error, "before_send", False))
    return isinstance(error, APIConnectionError)


def _server_message(body: bytes) -> str:
    """The message in ``{"error": "..."}`` or ``{"error": {"message": ...}}`` bodies."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", errors="replace").strip()[:500]
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message") or json.dumps(error)
        if error is not None:
            return str(error)[:500]
    return json.dumps(data)[:500]


def error_from_response(
    status_code: int,
    body: bytes,
    headers: httpx.Headers,
    *,
    url: str = "",
    not_found_hint: NotFoundHint | None = None,
) -> APIStatusError:
    """Translate an error response into the matching :mod:`errors` class."""
    request_id = headers.get("x-baseten-request-id")
    reason = httpx.codes.get_reason_phrase(status_code) or "Error"
    text = f"HTTP {status_code} {reason} from {url}: {_server_message(body) or '(no details)'}"
    cls = STATUS_ERRORS.get(status_code, ServerError if status_code >= 500 else APIStatusError)
    if cls is RateLimitError:
        retry_after = parse_retry_after(headers.get("retry-after"))
        return RateLimitError(
            text + " Slow down or retry later.", request_id=request_id, retry_after=retry_after
        )
    if cls is NotFoundError:
        hint, suggestions = not_found_hint() if not_found_hint else ("", ())
        return NotFoundError(
            f"{text} {hint}".strip(), request_id=request_id, suggestions=suggestions
        )
    return cls(text + _advice(status_code), status_code=status_code, request_id=request_id)


def _advice(status_code: int) -> str:
    return {
        401: " Check your API key (api_key= or BASETEN_API_KEY).",
        402: " Check billing on your Baseten account.",
        403: " Your key may not use this model or deployment.",
        413: " The request body is too large; send less input.",
    }.get(
        status_code, " Baseten or the model failed; try again later." if status_code >= 500 else ""
    )


def _error_from_exception(exc: httpx.HTTPError, url: str) -> BasetenError:
    if isinstance(exc, httpx.TimeoutException):
        error = APITimeoutError(
            f"Request to {url} timed out ({type(exc).__name__}); raise timeout= or connect_timeout=."
        )
        error.before_send = isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))  # type: ignore[attr-defined]
        return error
    return APIConnectionError(f"Could not reach {url}: {type(exc).__name__}: {exc}")


def _redact(error: BasetenError, secret: str | None) -> BasetenError:
    """Belt and braces: strip the key from an error message should a server echo it."""
    if secret and secret in str(error):
        error.args = (str(error).replace(secret, "***"),)
    return error


@dataclass(frozen=True)
class RetryNotice:
    """Told to ``on_retry`` before each wait: the next attempt (counting the first request as
    attempt 1), how many attempts there can be, the wait, what failed and the time waited
    so far (before this wait) and the cap on the total, if any."""

    attempt: int
    max_attempts: int
    delay_s: float
    error: BasetenError
    waited_s: float
    max_total_wait_s: float | None


@dataclass
class _Attempt:
    """The retry bookkeeping shared by the sync and async loops."""

    max_retries: int
    rand: Callable[[], float]
    number: int = 0
    #: Give up rather than wait longer than this in all (None: no cap).
    max_total_wait_s: float | None = None
    waited_s: float = 0.0
    on_retry: Callable[[RetryNotice], None] | None = None

    def delay_after(self, error: BasetenError) -> float | None:
        """Seconds to wait before retrying, or None to give up and raise.

        Giving up because the total wait would pass its cap sets ``error.gave_up_after_s``.
        """
        if self.number >= self.max_retries or not is_retryable(error):
            return None
        delay = retry_delay(
            self.number, retry_after=getattr(error, "retry_after", None), rand=self.rand
        )
        if self.max_total_wait_s is not None and self.waited_s + delay > self.max_total_wait_s:
            error.gave_up_after_s = self.waited_s  # type: ignore[attr-defined]
            return None
        self.number += 1
        logger.info(
            "baseten_llm: retry %d/%d in %.2fs after %s",
            self.number,
            self.max_retries,
            delay,
            type(error).__name__,
        )
        if self.on_retry is not None:
            self.on_retry(
                RetryNotice(
                    self.number + 1,
                    self.max_retries + 1,
                    delay,
                    error,
                    self.waited_s,
                    self.max_total_wait_s,
                )
            )
        self.waited_s += delay
        return delay


def encode_json_body(body: Any) -> bytes:
    """The exact bytes sent for a JSON body; strict JSON only (no NaN or infinity), so a bad
    value fails here, before sending, as a :class:`ConfigurationError`."""
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode("utf-8")
    except ValueError as exc:  # NaN or infinity, or a lone surrogate (UnicodeEncodeError)
        raise ConfigurationError(
            f"The request body cannot be sent as JSON ({exc}); use finite numbers (not NaN "
            "or infinity) and valid Unicode text."
        ) from None


class _TransportBase:
    def __init__(
        self,
        config: ClientConfig,
        *,
        rand: Callable[[], float] = random.random,
        on_retry: Callable[[RetryNotice], None] | None = None,
        max_total_retry_wait_s: float | None = None,
    ) -> None:
        self.config = config
        self._rand = rand
        self._timeout = config.httpx_timeout()
        self.on_retry = on_retry
        self.max_total_retry_wait_s = max_total_retry_wait_s

    def _attempt(self) -> _Attempt:
        return _Attempt(
            self.config.max_retries,
            self._rand,
            max_total_wait_s=self.max_total_retry_wait_s,
            on_retry=self.on_retry,
        )

    def _build(
        self,
        client: Any,
        method: str,
        url: str,
        json_body: Any,
        extra_headers: Mapping[str, str] | None,
    ) -> httpx.Request:
        # The client's own timeout is overridden per request, so that ``timeout=`` and
        # ``connect_timeout=`` hold even for an injected ``http_client``.
        headers = httpx.Headers(self.config.request_headers(extra_headers))
        if json_body is None:
            return client.build_request(method, url, headers=headers, timeout=self._timeout)
        headers.setdefault("Content-Type", "application/json")
        return client.build_request(
            method, url, content=encode_json_body(json_body), headers=headers, timeout=self._timeout
        )

    def _client_kwargs(self) -> dict[str, Any]:
        return {"timeout": self.config.httpx_timeout(), "follow_redirects": True}


# ----------------------------------------------------------------------------- sync
class HTTPTransport(_TransportBase):
    """Synchronous transport; ``client`` may be injected (e.g. with ``httpx.MockTransport``)."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        on_retry: Callable[[RetryNotice], None] | None = None,
        max_total_retry_wait_s: float | None = None,
    ) -> None:
        super().__init__(
            config, rand=rand, on_retry=on_retry, max_total_retry_wait_s=max_total_retry_wait_s
        )
        self._client = client
        self._sleep = sleep

    @property
    def client(self) -> httpx.Client:
        """The httpx client, created on first use."""
        if self._client is None:
            self._client = httpx.Client(**self._client_kwargs())
        return self._client

    def send(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        stream: bool = False,
        not_found_hint: NotFoundHint | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response (open, if ``stream``) or raise."""
        attempt = self._attempt()
        while True:
            request = self._build(self.client, method, url, json_body, headers)
            try:
                response = self.client.send(request, stream=stream)
            except httpx.HTTPError as exc:
                error = _error_from_exception(exc, url)
            else:
                if response.status_code < 400:
                    return response
                body = response.read()
                response.close()
                error = error_from_response(
                    response.status_code,
                    body,
                    response.headers,
                    url=url,
                    not_found_hint=not_found_hint,
                )
            delay = attempt.delay_after(error)
            if delay is None:
                raise _redact(error, self.config.api_key)
            self._sleep(delay)

    def request_json(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        not_found_hint: NotFoundHint | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send and decode a JSON reply (None for an empty body)."""
        response = self.send(
            method, url, json_body=json_body, not_found_hint=not_found_hint, headers=headers
        )
        return decode_json(response)

    def close(self) -> None:
        """Close the underlying client."""
        if self._client is not None:
            self._client.close()


# ----------------------------------------------------------------------------- async
class AsyncHTTPTransport(_TransportBase):
    """Asynchronous twin of :class:`HTTPTransport`."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        on_retry: Callable[[RetryNotice], None] | None = None,
        max_total_retry_wait_s: float | None = None,
    ) -> None:
        super().__init__(
            config, rand=rand, on_retry=on_retry, max_total_retry_wait_s=max_total_retry_wait_s
        )
        self._client = client
        self._owned = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sleep = sleep

    @property
    def client(self) -> httpx.AsyncClient:
        """The httpx async client, created on first use in each event loop.

        An ``AsyncClient``'s connections belong to the loop that opened them, so a new loop
        (e.g. a second ``asyncio.run``) gets a new client unless one was injected.
        """
        loop = asyncio.get_running_loop()
        if self._client is None or (self._owned and self._loop is not loop):
            self._client = httpx.AsyncClient(**self._client_kwargs())
            self._owned, self._loop = True, loop
        return self._client

    async def send(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        stream: bool = False,
        not_found_hint: NotFoundHint | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response (open, if ``stream``) or raise."""
        attempt = self._attempt()
        while True:
            request = self._build(self.client, method, url, json_body, headers)
            try:
                response = await self.client.send(request, stream=stream)
            except httpx.HTTPError as exc:
                error = _error_from_exception(exc, url)
            else:
                if response.status_code < 400:
                    return response
                body = await response.aread()
                await response.aclose()
                error = error_from_response(
                    response.status_code,
                    body,
                    response.headers,
                    url=url,
                    not_found_hint=not_found_hint,
                )
            delay = attempt.delay_after(error)
            if delay is None:
                raise _redact(error, self.config.api_key)
            await self._sleep(delay)

    async def request_json(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        not_found_hint: NotFoundHint | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send and decode a JSON reply (None for an empty body)."""
        response = await self.send(
            method, url, json_body=json_body, not_found_hint=not_found_hint, headers=headers
        )
        return decode_json(response)

    async def aclose(self) -> None:
        """Close the underlying client."""
        if self._client is not None:
            await self._client.aclose()


def decode_json(response: httpx.Response) -> Any:
    """The response body as JSON; None when empty; the text when it is not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def stream_error(exc: httpx.HTTPError, partial_text: str) -> BasetenError:
    """A failure while reading an open stream: never retried, keeps what arrived.

    Before any text arrived it is the plain timeout or connection error; after, a
    :class:`StreamInterruptedError` carrying the partial text.
    """
    if not partial_text:
        return _error_from_exception(
            exc, str(exc.request.url) if _has_request(exc) else "the server"
        )
    return StreamInterruptedError(
        f"The stream broke after {len(partial_text)} characters ({type(exc).__name__}); "
        "the partial answer is in .partial_text. It was not re-sent, to avoid paying twice.",
        partial_text=partial_text,
    )


def _has_request(exc: httpx.HTTPError) -> bool:
    try:
        _ = exc.request  # httpx raises RuntimeError when the error carries no request
    except RuntimeError:
        return False
    return True

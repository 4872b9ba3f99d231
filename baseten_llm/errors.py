"""The typed error tree of ``baseten_llm``.

Every error raised by this package subclasses :class:`BasetenError`; messages say what went
wrong and what to do next, and never contain the API key::

    BasetenError
    ├── ConfigurationError            bad or missing settings, found before any request
    │   ├── MissingAPIKeyError        no key in the argument nor in BASETEN_API_KEY
    │   ├── InvalidModelIdError       a dedicated model id that cannot be right
    │   └── AsyncModeError            a call that async-job mode (webhook_endpoint) cannot serve
    ├── UnknownModelError             a Model APIs slug not in the catalog (.suggestions)
    ├── APIStatusError                the server answered with an error (.status_code, .request_id)
    │   ├── BadRequestError               400
    │   ├── AuthenticationError           401
    │   ├── PaymentRequiredError          402
    │   ├── PermissionDeniedError         403
    │   ├── NotFoundError                 404 (.suggestions for Model APIs slugs)
    │   ├── PayloadTooLargeError          413 (also raised locally before sending)
    │   ├── UnprocessableEntityError      422
    │   ├── RateLimitError                429 (.retry_after)
    │   └── ServerError                   5xx
    ├── APIConnectionError            the server could not be reached
    │   └── APITimeoutError           connect or read timeout
    ├── StreamInterruptedError        a stream broke after delivering text (.partial_text)
    └── WebhookVerificationError      an incoming webhook cannot be trusted
        ├── WebhookSignatureError     missing header, no secrets or no matching signature
        ├── WebhookTimestampError     the body's ``time`` is outside the tolerance
        └── WebhookPayloadError       the body is not the JSON Baseten sends

Status codes are translated into these classes in exactly one place:
``baseten_llm._http.error_from_response``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BasetenError",
    "ConfigurationError",
    "MissingAPIKeyError",
    "InvalidModelIdError",
    "AsyncModeError",
    "UnknownModelError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "UnprocessableEntityError",
    "RateLimitError",
    "ServerError",
    "APIConnectionError",
    "APITimeoutError",
    "StreamInterruptedError",
    "WebhookVerificationError",
    "WebhookSignatureError",
    "WebhookTimestampError",
    "WebhookPayloadError",
    "STATUS_ERRORS",
]


class BasetenError(Exception):
    """Base class of every error raised by ``baseten_llm``."""


class ConfigurationError(BasetenError, ValueError):
    """The client is configured in a way that cannot work; fix the arguments or environment."""


class MissingAPIKeyError(ConfigurationError):
    """No API key: pass ``api_key=`` or set ``BASETEN_API_KEY``."""


class InvalidModelIdError(ConfigurationError):
    """A dedicated deployment's model id that cannot be right (e.g. a slug or empty)."""


class AsyncModeError(ConfigurationError):
    """A call that is not available in async-job mode (``webhook_endpoint`` set)."""


class UnknownModelError(BasetenError, ValueError):
    """A Model APIs slug that is not in the catalog; ``suggestions`` holds close names."""

    def __init__(self, message: str, *, suggestions: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.suggestions = list(suggestions)


class APIStatusError(BasetenError):
    """The server answered with an error status."""

    def __init__(self, message: str, *, status_code: int, request_id: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.request_id = request_id


class BadRequestError(APIStatusError):
    """400: the request's parameters were rejected."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked."""


class PaymentRequiredError(APIStatusError):
    """402: billing problem on the Baseten account."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this model or deployment."""


class NotFoundError(APIStatusError):
    """404: unknown model slug, model id, environment or deployment."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 404,
        request_id: str | None = None,
        suggestions: Sequence[str] = (),
    ) -> None:
        super().__init__(message, status_code=status_code, request_id=request_id)
        self.suggestions = list(suggestions)


class PayloadTooLargeError(APIStatusError):
    """413: the request body is over the server's limit (256 KiB for async jobs)."""


class UnprocessableEntityError(APIStatusError):
    """422: the model rejected its input."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` is the server's hint in seconds, if any."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, request_id=request_id)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: Baseten or the model failed; usually transient."""


class APIConnectionError(BasetenError):
    """The server could not be reached (DNS, refused connection, dropped socket)."""


class APITimeoutError(APIConnectionError):
    """The connect or read timeout elapsed."""


class StreamInterruptedError(BasetenError):
    """A stream broke after delivering text; ``partial_text`` is what arrived."""

    def __init__(self, message: str, *, partial_text: str = "") -> None:
        super().__init__(message)
        self.partial_text = partial_text


class WebhookVerificationError(BasetenError):
    """An incoming webhook could not be verified; do not trust its body."""


class WebhookSignatureError(WebhookVerificationError):
    """Missing signature header, no secrets configured, or no signature matched."""


class WebhookTimestampError(WebhookVerificationError):
    """The body's ``time`` is too far from now (replay protection)."""


class WebhookPayloadError(WebhookVerificationError):
    """The body is not valid JSON or lacks the fields Baseten sends."""


#: Status code -> error class; codes not listed map to APIStatusError (4xx) or ServerError (5xx).
STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

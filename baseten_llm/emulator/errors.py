"""Error bodies, one shape per surface.

Model APIs (`/v1/...`): OpenAI style `{"error": {"message", "type", "code"}}`, which the OpenAI
SDK parses. Dedicated (`/model-{id}/...`): Baseten's `{"error": "<message>", "error_code"}`
(the inference spec's ErrorResponse).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

# status -> (OpenAI type, OpenAI code, Baseten error_code)
_CODES = {
    400: ("invalid_request_error", "invalid_request", "client_error"),
    401: ("authentication_error", "invalid_api_key", "unauthorized"),
    402: ("payment_required", "payment_required", "client_error"),
    403: ("permission_error", "permission_denied", "unauthorized"),
    404: ("invalid_request_error", "model_not_found", "model_does_not_exist"),
    405: ("invalid_request_error", "method_not_allowed", "client_error"),
    413: ("invalid_request_error", "payload_too_large", "payload_too_large"),
    422: ("invalid_request_error", "unprocessable_entity", "client_error"),
    429: ("rate_limit_error", "rate_limit_exceeded", "rate_limited"),
    502: ("server_error", "model_unavailable", "model_unavailable"),
    503: ("server_error", "model_unavailable", "model_unavailable"),
    504: ("server_error", "timeout", "timeout"),
}


def is_model_apis(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def error_response(
    path: str,
    status: int,
    message: str,
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An error in the shape of the surface `path` belongs to; `code` overrides the default."""
    openai_type, openai_code, baseten_code = _CODES.get(
        status, ("server_error", "internal_error", "internal_baseten_error")
    )
    if is_model_apis(path):
        body: dict[str, Any] = {
            "error": {"message": message, "type": openai_type, "code": code or openai_code}
        }
    else:
        body = {"error": message, "error_code": code or baseten_code}
    return JSONResponse(body, status_code=status, headers=headers)

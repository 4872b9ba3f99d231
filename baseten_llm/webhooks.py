"""Verify Baseten's async-result webhooks. Pure: no I/O, the clock is injectable.

Baseten signs the raw body with HMAC-SHA256 keyed by the whole webhook secret (``whsec_...``,
UTF-8, no decoding) and sends ``X-BASETEN-SIGNATURE: v1=<hex>[,v1=<hex>...]`` (one entry per
active secret during rotation). The body's ``time`` field guards against replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .errors import WebhookPayloadError, WebhookSignatureError, WebhookTimestampError

__all__ = [
    "WebhookPayload",
    "verify_webhook",
    "parse_signature_header",
    "SIGNATURE_HEADER",
    "DEFAULT_TOLERANCE_S",
]

SIGNATURE_HEADER = "X-BASETEN-SIGNATURE"
DEFAULT_TOLERANCE_S = 300.0
_REQUIRED = ("request_id", "type", "time")


@dataclass(frozen=True)
class WebhookPayload:
    """A verified webhook body."""

    request_id: str
    type: str
    time: datetime
    model_id: str | None = None
    deployment_id: str | None = None
    data: Any = None
    errors: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def succeeded(self) -> bool:
        """True when the job produced output without errors."""
        return not self.errors


def parse_signature_header(header: str) -> list[str]:
    """The hex digests in ``v1=<hex>[,v1=<hex>...]`` (entries of other versions ignored)."""
    signatures = []
    for entry in header.split(","):
        version, _, value = entry.strip().partition("=")
        if version.strip() == "v1" and value.strip():
            signatures.append(value.strip().lower())
    return signatures


def _expected_signatures(body: bytes, secrets: Sequence[str]) -> list[str]:
    return [hmac.new(s.encode("utf-8"), body, hashlib.sha256).hexdigest() for s in secrets if s]


def _check_signature(body: bytes, signature_header: str | None, secrets: Sequence[str]) -> None:
    if isinstance(secrets, str):
        secrets = [secrets]
    if not secrets or not any(secrets):
        raise WebhookSignatureError(
            "No webhook secret configured: add the whsec_... secret from Baseten's settings."
        )
    if not signature_header:
        raise WebhookSignatureError(f"The request has no {SIGNATURE_HEADER} header; reject it.")
    received = parse_signature_header(signature_header)
    if not received:
        raise WebhookSignatureError(
            f"The {SIGNATURE_HEADER} header has no v1= signature; reject it."
        )
    expected = _expected_signatures(body, secrets)
    # Compare every pair so timing does not reveal which entry matched.
    matched = False
    for mine in expected:
        for theirs in received:
            matched |= hmac.compare_digest(mine, theirs)
    if not matched:
        raise WebhookSignatureError(
            "No webhook signature matched the configured secrets; the body was altered or a secret is wrong."
        )


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise WebhookPayloadError(f"The webhook 'time' must be an ISO 8601 string, got {value!r}.")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise WebhookPayloadError(f"The webhook 'time' {value!r} is not ISO 8601.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _now_epoch(now: float | int | datetime | None) -> float:
    if now is None:
        return datetime.now(timezone.utc).timestamp()
    if isinstance(now, datetime):
        return (now if now.tzinfo else now.replace(tzinfo=timezone.utc)).timestamp()
    return float(now)


def _parse_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookPayloadError("The webhook body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise WebhookPayloadError("The webhook body is not a JSON object.")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise WebhookPayloadError(f"The webhook body lacks {', '.join(missing)}.")
    return data


def verify_webhook(
    body: bytes,
    signature_header: str | None,
    secrets: Sequence[str],
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | int | datetime | None = None,
) -> WebhookPayload:
    """Check the signature and timestamp of a Baseten webhook; return its typed payload.

    ``body`` must be the raw request bytes. Any ``v1=`` entry may match any of ``secrets``.
    ``now`` (a datetime or epoch seconds) defaults to the current time.
    """
    if not isinstance(body, (bytes, bytearray)):
        raise WebhookPayloadError("verify_webhook needs the raw body bytes, not parsed JSON.")
    _check_signature(bytes(body), signature_header, secrets)
    data = _parse_body(bytes(body))
    sent = _parse_time(data["time"])
    skew = abs(_now_epoch(now) - sent.timestamp())
    if skew > tolerance_s:
        raise WebhookTimestampError(
            f"The webhook was sent {skew:.0f}s from now, over the {tolerance_s:.0f}s tolerance; "
            "it may be a replay (or this server's clock is wrong)."
        )
    return WebhookPayload(
        request_id=str(data["request_id"]),
        type=str(data["type"]),
        time=sent,
        model_id=data.get("model_id") or data.get("chain_id"),
        deployment_id=data.get("deployment_id"),
        data=data.get("data"),
        errors=tuple(data.get("errors") or ()),
    )

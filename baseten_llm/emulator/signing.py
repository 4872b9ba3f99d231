"""Webhook signatures as Baseten sends them (baseten-api.md §5.3), independent of the client's
`baseten_llm.webhooks`: HMAC-SHA256 keyed by the whole secret string (with `whsec_`) over the
exact body bytes, lowercase hex, one `v1=` entry per secret, newest secret first."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence


def signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_header(body: bytes, secrets: Sequence[str]) -> str:
    """`v1=<hex>[,v1=<hex>...]` for `secrets` ordered newest first."""
    return ",".join(f"v1={signature(body, s)}" for s in secrets)

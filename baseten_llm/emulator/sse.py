"""Server-sent events encoding, written for the emulator alone (the client decodes with its own
code, so a round trip is not one piece of code agreeing with itself)."""

from __future__ import annotations

import json
from typing import Any

DONE = b"data: [DONE]\n\n"


def encode(data: Any) -> bytes:
    """One `data: <compact json>` event followed by the blank line that ends it."""
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"

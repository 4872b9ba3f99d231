"""Baseten's session-affinity header, one value per conversation.

Baseten caches prompt prefixes per replica and bills cached input tokens at a discount. Its
docs ("Pricing and limits", Model APIs, read 2026-12) say to send ``x-session-affinity`` with a
consistent value so that related requests reach the same replica, scoped to one conversation
(reusing one value across unrelated work concentrates load on one replica). The value is an
opaque digest of the conversation id, so no id or title leaves the app in it.
"""

from __future__ import annotations

import hashlib

HEADER = "x-session-affinity"


def affinity_value(conversation_id: int | str) -> str:
    return hashlib.sha256(f"baseten-chat/conversation/{conversation_id}".encode()).hexdigest()[:32]


def headers_for(conversation_id: int | str | None) -> dict[str, str]:
    """The per-request headers for one conversation's turns (none without a conversation)."""
    if conversation_id is None:
        return {}
    return {HEADER: affinity_value(conversation_id)}

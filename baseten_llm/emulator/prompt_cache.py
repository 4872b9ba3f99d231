"""Prompt-prefix caching, as Baseten bills it: `usage.prompt_tokens_details.cached_tokens`.

Each model is served by `REPLICAS` replicas, each with its own cache of recent prompts. A request
with an `x-session-affinity` header always reaches the replica its value hashes to; one without
goes to the next replica in turn (round robin). The cached tokens of a request are the longest
run of leading prompt tokens (a token is a word tagged with its message's role, the same words
`prompt_tokens` counts) that the chosen replica has seen in an earlier prompt. So a
conversation's second turn hits the cache when it carries the header, and only every other time
without it.
"""

from __future__ import annotations

import hashlib
from collections import deque
from typing import Any

from . import replies

REPLICAS = 2
PROMPTS_KEPT = 64
AFFINITY_HEADER = "x-session-affinity"


def prompt_sequence(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (str(m.get("role")), word)
        for m in messages
        for word in replies.content_text(m.get("content")).split()
    ]


def _common_prefix(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> int:
    count = 0
    for left, right in zip(a, b):
        if left != right:
            break
        count += 1
    return count


class PromptCache:
    def __init__(self) -> None:
        self.seen: dict[tuple[str, int], deque[list[tuple[str, str]]]] = {}
        self.turn: dict[str, int] = {}

    def clear(self) -> None:
        self.seen.clear()
        self.turn.clear()

    def replica(self, model_key: str, affinity: str | None) -> int:
        if affinity:
            return int.from_bytes(hashlib.sha256(affinity.encode()).digest()[:4], "big") % REPLICAS
        turn = self.turn.get(model_key, 0)
        self.turn[model_key] = turn + 1
        return turn % REPLICAS

    def cached_tokens(
        self, model_key: str, messages: list[dict[str, Any]], affinity: str | None
    ) -> int:
        """Tokens of this prompt already cached on its replica; remembers the prompt."""
        sequence = prompt_sequence(messages)
        store = self.seen.setdefault(
            (model_key, self.replica(model_key, affinity)), deque(maxlen=PROMPTS_KEPT)
        )
        best = max((_common_prefix(sequence, earlier) for earlier in store), default=0)
        store.append(sequence)
        # The last prompt token is always computed, as in real prefix caches.
        return min(best, max(len(sequence) - 1, 0))

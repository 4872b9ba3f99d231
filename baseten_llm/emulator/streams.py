"""Paced, incremental responses: SSE for chat completions, raw bytes for streamed predict.

A stream is a sequence of `(bytes, kind)` events, kind None (framing: role, finish, usage,
[DONE]), "reasoning" or "content" (answer words, tool-call pieces, predict bytes). `paced` waits
the first-token delay, spaces reasoning and content events by 1/tokens_per_second, cuts the
connection after K content events when a `cut_after_chunks` fault asks for it (by raising
`StreamCut`, which makes the server drop the connection without ending the chunked body), and
marks the log entry when the client went away before the end (`stream_closed_early`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from . import chat, sse

Event = tuple[bytes, str | None]


class StreamCut(Exception):
    """Raised inside a stream to drop the connection mid-way (an injected fault)."""


class TrackedStream(StreamingResponse):
    """A StreamingResponse that always closes its iterator, so the iterator learns when the
    client disconnected."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.body_iterator.aclose()  # type: ignore[attr-defined]


async def paced(
    events: Iterable[Event],
    *,
    delay: float,
    tokens_per_second: float,
    cut_after: int | None,
    entry: dict[str, Any],
    slowdown: Callable[[], float] = lambda: 1.0,
) -> AsyncIterator[bytes]:
    """`slowdown()` (read before the first token and before each later one) stretches the
    waits: a deployment past its capacity (see `capacity`)."""
    completed, tokens, contents = False, 0, 0
    try:
        if delay > 0:
            await asyncio.sleep(delay * slowdown())
        for data, kind in events:
            if kind == "content" and cut_after is not None and contents >= cut_after:
                entry["stream_cut"] = True
                raise StreamCut(f"stream cut after {contents} content chunks (injected fault)")
            if kind is not None:
                if tokens and tokens_per_second > 0:
                    await asyncio.sleep(slowdown() / tokens_per_second)
                tokens += 1
                contents += kind == "content"
            yield data
        completed = True
    finally:
        if not completed and not entry.get("stream_cut"):
            entry["stream_closed_early"] = True


def chat_events(
    result: chat.ChatPlan, *, completion_id: str, model: str, body: dict[str, Any]
) -> Iterator[Event]:
    """SSE events of a streamed chat completion: role chunk, one chunk per piece, the
    finish_reason chunk, the usage chunk (unless stream_options.include_usage is false), [DONE]."""
    options = body.get("stream_options") or {}
    continuous = options.get("continuous_usage_stats") is True
    yield sse.encode(chat.chunk(completion_id, model, {"role": "assistant", "content": ""})), None
    for sent, delta in enumerate(chat.deltas(result), start=1):
        event = chat.chunk(completion_id, model, delta)
        if continuous:
            event["usage"] = chat.usage(result, sent)
        yield sse.encode(event), "reasoning" if "reasoning_content" in delta else "content"
    yield sse.encode(chat.chunk(completion_id, model, {}, result.finish_reason)), None
    if options.get("include_usage", True) is not False:
        event = chat.chunk(completion_id, model, None)
        event["usage"] = chat.usage(result)
        yield sse.encode(event), None
    yield sse.DONE, None


def byte_events(pieces: list[str]) -> Iterator[Event]:
    """Raw streamed predict output: one word per chunk, no framing."""
    for piece in pieces:
        yield piece.encode(), "content"


def is_stream_cut(exc: BaseException | None) -> bool:
    """Whether an exception (or any inside an exception group) is a StreamCut."""
    if isinstance(exc, StreamCut):
        return True
    inner = getattr(exc, "exceptions", None) or ()  # an exception group
    return any(is_stream_cut(e) for e in inner)

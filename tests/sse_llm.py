"""A real ``Baseten`` client whose streamed replies are scripted SSE bodies (no network).

Tests that used to hand the app a fake generator of chunks reach it through this instead, so
the app reads the library's own stream object (``ChatStream``: text so far, timings, usage)
exactly as it does in production. The body is a generator of SSE bytes, served through
``httpx.MockTransport``; closing the HTTP response closes that generator, so a ``finally`` in
it tells a test the stream was closed. ``clock`` times the streams (``Baseten(stream_clock=)``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from typing import Any

import httpx

from baseten_llm import Baseten

Body = Generator[bytes, None, None]
DONE = b"data: [DONE]\n\n"


def sse_chunk(
    delta: str = "",
    reasoning: str = "",
    *,
    usage: dict[str, int] | None = None,
    finish_reason: str | None = None,
) -> bytes:
    """One OpenAI chunk as an SSE event: answer text, reasoning, and optionally usage and a
    finish reason."""
    piece: dict[str, Any] = {}
    if delta:
        piece["content"] = delta
    if reasoning:
        piece["reasoning_content"] = reasoning
    event: dict[str, Any] = {
        "choices": [{"index": 0, "delta": piece, "finish_reason": finish_reason}]
    }
    if usage:
        event["usage"] = usage
    return f"data: {json.dumps(event)}\n\n".encode()


class _GeneratorBody(httpx.SyncByteStream):
    def __init__(self, body: Body) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        yield from self.body

    def close(self) -> None:
        self.body.close()


def scripted_baseten(
    next_body: Callable[[], Body], *, clock: Callable[[], float] | None = None
) -> Baseten:
    """A Model APIs client: every streamed request is answered with ``next_body()``."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=_GeneratorBody(next_body())
        )

    return Baseten(
        model_id="deepseek-ai/DeepSeek-V3.1",
        api_key="test-key",
        max_retries=0,
        model_apis_url="http://model-apis.test/v1",
        stream_clock=clock,
        http_client=httpx.Client(transport=httpx.MockTransport(answer)),
    )

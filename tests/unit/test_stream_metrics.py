"""A stream object's metrics come from when its bytes brought text (clock injected, no network)."""

from __future__ import annotations

import httpx
import pytest

from baseten_llm import ChatStream, errors
from baseten_llm.chat import StreamAssembler


def sse(*events: str) -> list[bytes]:
    return [f"data: {event}\n\n".encode() for event in events]


ROLE = '{"choices": [{"delta": {"role": "assistant"}}]}'
HELLO = '{"choices": [{"delta": {"content": "Hel"}}]}'
LO = '{"choices": [{"delta": {"content": "lo"}, "finish_reason": "stop"}]}'
USAGE = '{"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 8, "total_tokens": 13}}'


class ScriptedClock:
    """Returns the given times, one per call."""

    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0)


def stream_of(chunks: list[bytes], clock: ScriptedClock) -> ChatStream:
    response = httpx.Response(
        200, content=iter(chunks), request=httpx.Request("POST", "http://test/chat")
    )
    return ChatStream(response, StreamAssembler(sse=True), started_at=10.0, clock=clock)


def test_first_token_time_and_tokens_per_second_follow_the_bytes_that_brought_text() -> None:
    # reads: role only (no text, no clock), "Hel" at 10.5, "lo" at 12.5, usage, [DONE]; end at 13.0
    stream = stream_of(sse(ROLE, HELLO, LO, USAGE, "[DONE]"), ScriptedClock(10.5, 12.5, 13.0))
    deltas = [chunk.delta for chunk in stream]
    metrics = stream.metrics
    assert deltas == ["Hel", "lo", ""]
    assert metrics.time_to_first_token_s == 0.5
    assert metrics.elapsed_s == 3.0
    assert metrics.tokens_per_s == 8 / 2.0
    assert metrics.usage == {
        "prompt_tokens": 5,
        "completion_tokens": 8,
        "total_tokens": 13,
        "reasoning_tokens": 0,
        "cached_tokens": 0,
    }
    assert metrics.finish_reason == "stop" and stream.text == "Hello"


def test_without_usage_there_is_no_tokens_per_second_and_before_text_no_first_token() -> None:
    # "Hel" at 11.0; metrics read while running at 11.5; "lo" at 12.0; end at 12.5
    stream = stream_of(sse(HELLO, LO, "[DONE]"), ScriptedClock(11.0, 11.5, 12.0, 12.5))
    first = next(stream)
    assert first.delta == "Hel" and stream.text == "Hel"
    running = stream.metrics
    assert running.time_to_first_token_s == 1.0 and running.elapsed_s == 1.5
    list(stream)
    assert stream.metrics.tokens_per_s is None and stream.metrics.usage is None
    assert stream.metrics.elapsed_s == 2.5


def test_a_stream_cut_before_its_end_raises_and_is_closed() -> None:
    stream = stream_of(sse(HELLO), ScriptedClock(10.1, 10.2))
    with pytest.raises(errors.StreamInterruptedError):
        list(stream)
    assert stream.response.is_closed and stream.text == "Hel"


def test_closing_a_stream_never_read_closes_its_response() -> None:
    stream = stream_of(sse(HELLO, LO, "[DONE]"), ScriptedClock())
    stream.close()
    assert stream.response.is_closed
    assert list(stream) == []

"""stream_reply: typed events, metrics with a fake clock, early close, errors as events.

The replies come through a real Baseten client (scripted SSE bodies, no network), so the
events carry the library stream's own text and timings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from baseten_llm import ChatStream, errors
from chatapp.services.chat import (
    AnswerDelta,
    ReasoningDelta,
    ReplyDone,
    ReplyError,
    stream_reply,
)
from tests.sse_llm import DONE, scripted_baseten, sse_chunk


class FakeClock:
    """Advances one second per reading, so every interval is predictable."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def chunk(delta: str = "", reasoning: str = "", **extra: Any) -> bytes:
    return sse_chunk(delta, reasoning, **extra)


class FakeLLM:
    """Streams the given chunks through a real Baseten client (its streams timed with
    ``clock``), ending them, or raising ``fail`` after them; records calls and closing."""

    def __init__(
        self, chunks: list[bytes], fail: Exception | None = None, clock: FakeClock | None = None
    ) -> None:
        self.chunks = chunks
        self.fail = fail
        self.closed = False
        self.calls: list[tuple[list[ChatMessage], dict[str, Any]]] = []
        self.client = scripted_baseten(self._gen, clock=clock)

    def stream_chat(self, messages: list[ChatMessage], **kwargs: Any) -> Any:
        self.calls.append((messages, kwargs))
        return self.client.stream_chat(messages, **kwargs)

    def _gen(self) -> Iterator[bytes]:
        try:
            yield from self.chunks
            if self.fail:
                raise self.fail
            yield DONE
        finally:
            self.closed = True


QUESTION = [ChatMessage(role=MessageRole.USER, content="hello there")]
USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


def test_answer_and_reasoning_arrive_as_separate_events_then_done() -> None:
    llm = FakeLLM(
        [
            chunk(reasoning="hmm "),
            chunk("Hi"),
            chunk(" you"),
            chunk("!", usage=USAGE, finish_reason="stop"),
        ],
        clock=FakeClock(),
    )
    events = list(stream_reply(llm, QUESTION, temperature=0.5))
    assert events[:4] == [
        ReasoningDelta("hmm "),
        AnswerDelta("Hi"),
        AnswerDelta(" you"),
        AnswerDelta("!"),
    ]
    done = events[-1]
    assert isinstance(done, ReplyDone)
    assert (done.text, done.reasoning) == ("Hi you!", "hmm ")
    assert llm.calls[0][1] == {"temperature": 0.5}


def test_metrics_come_from_usage_and_the_injected_clock() -> None:
    # clock readings: start 101, tokens at 102, 103, 104, end 105
    llm = FakeLLM(
        [chunk("a"), chunk("b"), chunk("c", usage=USAGE, finish_reason="stop")], clock=FakeClock()
    )
    done = list(stream_reply(llm, QUESTION))[-1]
    metrics = done.metrics
    assert metrics.ttft_s == 1.0
    assert metrics.total_s == 4.0
    assert (metrics.tokens_in, metrics.tokens_out) == (7, 3)
    assert metrics.tokens_per_s == pytest.approx(3 / 2.0)
    assert metrics.finish_reason == "stop"
    assert metrics.estimated is False


def test_missing_usage_is_estimated_from_text_and_flagged() -> None:
    llm = FakeLLM([chunk("x" * 40), chunk("y" * 40)], clock=FakeClock())
    metrics = list(stream_reply(llm, QUESTION))[-1].metrics
    assert metrics.estimated is True
    assert metrics.tokens_out == 20
    assert metrics.tokens_in > 0


def test_stopping_early_closes_the_underlying_stream() -> None:
    llm = FakeLLM([chunk("a"), chunk("b"), chunk("c")], clock=FakeClock())
    events = stream_reply(llm, QUESTION)
    assert next(events) == AnswerDelta("a")
    events.close()
    assert llm.closed is True


def test_a_stream_cut_midway_becomes_an_error_event_with_the_partial_text() -> None:
    cut = errors.StreamInterruptedError("The stream broke.", partial_text="Hello wor")
    llm = FakeLLM([chunk("Hello "), chunk("wor")], fail=cut, clock=FakeClock())
    events = list(stream_reply(llm, QUESTION))
    last = events[-1]
    assert isinstance(last, ReplyError)
    assert last.error is cut
    assert last.partial_text == "Hello wor"
    assert llm.closed is True


def test_an_error_before_any_text_is_an_error_event_not_an_exception() -> None:
    class Refusing:
        def stream_chat(self, messages: Any, **kwargs: Any) -> Any:
            raise errors.AuthenticationError("Baseten rejected the API key.", status_code=401)

    events = list(stream_reply(Refusing(), QUESTION))
    assert len(events) == 1 and isinstance(events[0], ReplyError)
    assert events[0].partial_text == ""
    assert events[0].metrics.ttft_s is None


def test_every_delta_carries_the_reply_so_far_with_its_timings() -> None:
    # clock readings: start 101, tokens at 102, 103, 104
    llm = FakeLLM([chunk(reasoning="hmm "), chunk("Hi"), chunk(" you")], clock=FakeClock())
    events = list(stream_reply(llm, QUESTION))
    so_far = [e.so_far for e in events if isinstance(e, (AnswerDelta, ReasoningDelta))]
    assert [(p.text, p.reasoning, p.chunks) for p in so_far] == [
        ("", "hmm ", 1),
        ("Hi", "hmm ", 2),
        ("Hi you", "hmm ", 3),
    ]
    assert so_far[-1].live_figures(now=106.0) == {
        "ttft_s": 1.0,
        "tokens_per_s": 3 / 2.0,
        "total_s": 5.0,
    }
    assert events[-1].text == so_far[-1].text


def test_the_events_carry_the_library_streams_own_text_and_figures() -> None:
    opened: list[Any] = []

    class Keeping(FakeLLM):
        def stream_chat(self, messages: list[ChatMessage], **kwargs: Any) -> Any:
            opened.append(super().stream_chat(messages, **kwargs))
            return opened[-1]

    llm = Keeping(
        [chunk(reasoning="hmm "), chunk("Hi"), chunk("!", usage=USAGE, finish_reason="stop")],
        clock=FakeClock(),
    )
    events = list(stream_reply(llm, QUESTION))
    stream, done = opened[0], events[-1]
    assert isinstance(stream, ChatStream)
    assert (done.text, done.reasoning) == (stream.text, stream.reasoning) == ("Hi!", "hmm ")
    reported = stream.metrics
    assert (done.metrics.ttft_s, done.metrics.total_s, done.metrics.tokens_per_s) == (
        reported.time_to_first_token_s,
        reported.elapsed_s,
        reported.tokens_per_s,
    )
    assert events[1].so_far.started_at == stream.started_at
    assert events[1].so_far.first_token_at == stream.first_token_at

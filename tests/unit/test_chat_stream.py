"""stream_reply: typed events, metrics with a fake clock, early close, errors as events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole

from baseten_llm import errors
from chatapp.services.chat import (
    AnswerDelta,
    ReasoningDelta,
    ReplyDone,
    ReplyError,
    stream_reply,
)


class FakeClock:
    """Advances one second per reading, so every interval is predictable."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def chunk(delta: str = "", reasoning: str = "", **extra: Any) -> ChatResponse:
    kwargs: dict[str, Any] = dict(extra)
    if reasoning:
        kwargs["reasoning_delta"] = reasoning
    return ChatResponse(
        message=ChatMessage(role=MessageRole.ASSISTANT, content=""), delta=delta,
        additional_kwargs=kwargs,
    )


class FakeLLM:
    """Yields the given chunks, then optionally raises; records calls and closing."""

    def __init__(self, chunks: list[ChatResponse], fail: Exception | None = None) -> None:
        self.chunks = chunks
        self.fail = fail
        self.closed = False
        self.calls: list[tuple[list[ChatMessage], dict[str, Any]]] = []

    def stream_chat(self, messages: list[ChatMessage], **kwargs: Any) -> Iterator[ChatResponse]:
        self.calls.append((messages, kwargs))
        return self._gen()

    def _gen(self) -> Iterator[ChatResponse]:
        try:
            yield from self.chunks
            if self.fail:
                raise self.fail
        finally:
            self.closed = True


QUESTION = [ChatMessage(role=MessageRole.USER, content="hello there")]
USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


def test_answer_and_reasoning_arrive_as_separate_events_then_done() -> None:
    llm = FakeLLM([chunk(reasoning="hmm "), chunk("Hi"), chunk(" you"),
                   chunk("!", usage=USAGE, finish_reason="stop")])
    events = list(stream_reply(llm, QUESTION, clock=FakeClock(), temperature=0.5))
    assert events[:4] == [ReasoningDelta("hmm "), AnswerDelta("Hi"), AnswerDelta(" you"),
                          AnswerDelta("!")]
    done = events[-1]
    assert isinstance(done, ReplyDone)
    assert (done.text, done.reasoning) == ("Hi you!", "hmm ")
    assert llm.calls[0][1] == {"temperature": 0.5}


def test_metrics_come_from_usage_and_the_injected_clock() -> None:
    # clock readings: start 101, tokens at 102, 103, 104, end 105
    llm = FakeLLM([chunk("a"), chunk("b"), chunk("c", usage=USAGE, finish_reason="stop")])
    done = list(stream_reply(llm, QUESTION, clock=FakeClock()))[-1]
    metrics = done.metrics
    assert metrics.ttft_s == 1.0
    assert metrics.total_s == 4.0
    assert (metrics.tokens_in, metrics.tokens_out) == (7, 3)
    assert metrics.tokens_per_s == pytest.approx(3 / 2.0)
    assert metrics.finish_reason == "stop"
    assert metrics.estimated is False


def test_missing_usage_is_estimated_from_text_and_flagged() -> None:
    llm = FakeLLM([chunk("x" * 40), chunk("y" * 40)])
    metrics = list(stream_reply(llm, QUESTION, clock=FakeClock()))[-1].metrics
    assert metrics.estimated is True
    assert metrics.tokens_out == 20
    assert metrics.tokens_in > 0


def test_stopping_early_closes_the_underlying_stream() -> None:
    llm = FakeLLM([chunk("a"), chunk("b"), chunk("c")])
    events = stream_reply(llm, QUESTION, clock=FakeClock())
    assert next(events) == AnswerDelta("a")
    events.close()
    assert llm.closed is True


def test_a_stream_cut_midway_becomes_an_error_event_with_the_partial_text() -> None:
    cut = errors.StreamInterruptedError("The stream broke.", partial_text="Hello wor")
    llm = FakeLLM([chunk("Hello "), chunk("wor")], fail=cut)
    events = list(stream_reply(llm, QUESTION, clock=FakeClock()))
    last = events[-1]
    assert isinstance(last, ReplyError)
    assert last.error is cut
    assert last.partial_text == "Hello wor"
    assert llm.closed is True


def test_an_error_before_any_text_is_an_error_event_not_an_exception() -> None:
    class Refusing:
        def stream_chat(self, messages: Any, **kwargs: Any) -> Any:
            raise errors.AuthenticationError("Baseten rejected the API key.", status_code=401)

    events = list(stream_reply(Refusing(), QUESTION, clock=FakeClock()))
    assert len(events) == 1 and isinstance(events[0], ReplyError)
    assert events[0].partial_text == ""
    assert events[0].metrics.ttft_s is None


def test_every_delta_carries_the_reply_so_far_with_its_timings() -> None:
    # clock readings: start 101, tokens at 102, 103, 104
    llm = FakeLLM([chunk(reasoning="hmm "), chunk("Hi"), chunk(" you")])
    events = list(stream_reply(llm, QUESTION, clock=FakeClock()))
    so_far = [e.so_far for e in events if isinstance(e, (AnswerDelta, ReasoningDelta))]
    assert [(p.text, p.reasoning, p.chunks) for p in so_far] == [
        ("", "hmm ", 1), ("Hi", "hmm ", 2), ("Hi you", "hmm ", 3)]
    assert so_far[-1].live_figures(now=106.0) == {"ttft_s": 1.0, "tokens_per_s": 3 / 2.0,
                                                   "total_s": 5.0}
    assert events[-1].text == so_far[-1].text

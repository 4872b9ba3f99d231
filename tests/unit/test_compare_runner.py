"""The compare runner: sides stream concurrently, events interleave, one failure stays local."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole

from baseten_llm import errors
from chatapp.services.chat import AnswerDelta, ReplyDone, ReplyError
from chatapp.services.compare import Comparison, ComparisonRunner, RunStarted, SideEvent
from chatapp.targets import Target
from tests.sse_llm import DONE, scripted_baseten, sse_chunk

MESSAGES = [ChatMessage(role=MessageRole.USER, content="hello")]
TARGETS = [Target(), Target(kind="dedicated", model="abcd1234"), Target(model="zai-org/GLM-4.6")]


def chunk(delta: str, **extra: Any) -> bytes:
    return sse_chunk(delta, **extra)


class FakeLLM:
    """Streams ``words`` (waiting at ``barrier`` before each one, if given) through a real
    Baseten client, or raises."""

    def __init__(
        self,
        words: list[str],
        *,
        fail: Exception | None = None,
        barrier: threading.Barrier | None = None,
    ) -> None:
        self.words, self.fail, self.barrier = words, fail, barrier
        self.calls = 0
        self.closed = 0
        self.client = scripted_baseten(self._gen)

    def stream_chat(self, messages: list[ChatMessage], **kwargs: Any) -> Any:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        return self.client.stream_chat(messages, **kwargs)

    def _gen(self) -> Iterator[bytes]:
        try:
            for word in self.words:
                if self.barrier is not None:
                    self.barrier.wait(timeout=10)
                yield chunk(word)
            usage = {"prompt_tokens": 3, "completion_tokens": len(self.words)}
            yield chunk("", usage=usage, finish_reason="stop")
            yield DONE
        finally:
            self.closed += 1


def run_all(runner: ComparisonRunner) -> list[SideEvent]:
    with runner:
        return [event for batch in runner.batches(poll_s=0.01) for event in batch]


def test_every_side_runs_n_times_and_finishes_with_figures() -> None:
    llms = [FakeLLM(["a ", "b "]), FakeLLM(["c ", "d ", "e "])]
    events = run_all(ComparisonRunner(llms, MESSAGES, repeats=3))
    comparison = Comparison.new(TARGETS[:2], "hello", "p", "", 3)
    for event in events:
        comparison.apply(event)
    assert comparison.finished
    assert [len(side.ok_runs) for side in comparison.sides] == [3, 3]
    assert [llm.calls for llm in llms] == [3, 3]
    assert comparison.sides[1].runs[0].metrics.tokens_out == 3
    assert comparison.sides[1].text == "c d e "


def test_events_of_the_sides_arrive_interleaved() -> None:
    """Both fakes wait for each other before every word, so neither can run ahead: the
    queue must show side 1 speaking before side 0 is done (and the other way round)."""
    barrier = threading.Barrier(2)
    llms = [FakeLLM(["a "] * 5, barrier=barrier), FakeLLM(["b "] * 5, barrier=barrier)]
    events = run_all(ComparisonRunner(llms, MESSAGES, repeats=1))
    deltas = [e.side for e in events if isinstance(e.event, AnswerDelta)]
    done_at = {e.side: i for i, e in enumerate(events) if isinstance(e.event, ReplyDone)}
    first_delta = {
        side: next(
            i for i, e in enumerate(events) if e.side == side and isinstance(e.event, AnswerDelta)
        )
        for side in (0, 1)
    }
    assert sorted(deltas) == [0] * 5 + [1] * 5
    assert first_delta[1] < done_at[0] and first_delta[0] < done_at[1]
    assert deltas != sorted(deltas) and deltas != sorted(deltas, reverse=True)


def test_a_failing_side_does_not_stop_the_others() -> None:
    unauthorized = errors.AuthenticationError(
        "The API key was rejected (401). Check BASETEN_API_KEY.", status_code=401
    )
    llms = [FakeLLM(["a "]), FakeLLM([], fail=unauthorized), FakeLLM(["c "])]
    comparison = Comparison.new(TARGETS, "hello", "p", "", 4)
    for event in run_all(ComparisonRunner(llms, MESSAGES, repeats=4)):
        comparison.apply(event)
    good_a, bad, good_c = comparison.sides
    assert len(good_a.ok_runs) == 4 and len(good_c.ok_runs) == 4
    assert bad.error is not None and bad.error.startswith("Baseten refused the API key (401")
    assert llms[1].calls == 1, "a 401 will not go away: the side stops after the first run"
    assert [r.ok for r in bad.runs] == [False]


def test_a_transient_error_fails_one_run_and_the_side_goes_on() -> None:
    class FlakyLLM(FakeLLM):
        def stream_chat(self, messages: list[ChatMessage], **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == 2:
                raise errors.RateLimitError("Too many requests (429).", retry_after=2)
            return self.client.stream_chat(messages, **kwargs)

    comparison = Comparison.new(TARGETS[:1], "hello", "p", "", 3)
    for event in run_all(ComparisonRunner([FlakyLLM(["a "])], MESSAGES, repeats=3)):
        comparison.apply(event)
    side = comparison.sides[0]
    assert [r.ok for r in side.runs] == [True, False, True]
    assert side.runs[1].error is not None
    assert "(429 Too Many Requests). Wait about 2 seconds" in side.runs[1].error


def test_a_client_that_could_not_be_built_shows_its_error_on_that_side_only() -> None:
    bad_id = errors.InvalidModelIdError("“bad id” is not a model id: use the 8-character id.")
    comparison = Comparison.new(TARGETS[:2], "hello", "p", "", 2)
    for event in run_all(ComparisonRunner([bad_id, FakeLLM(["ok "])], MESSAGES, repeats=2)):
        comparison.apply(event)
    assert comparison.sides[0].error is not None
    assert comparison.sides[0].error.startswith("The dedicated deployment's model id is not valid")
    assert comparison.sides[0].runs == []
    assert len(comparison.sides[1].ok_runs) == 2


def test_stopping_the_runner_closes_the_streams_in_progress() -> None:
    gate = threading.Event()

    class SlowLLM(FakeLLM):
        def _gen(self) -> Iterator[bytes]:
            try:
                for word in self.words:
                    yield chunk(word)
                    gate.wait(timeout=10)
            finally:
                self.closed += 1

    llm = SlowLLM(["a "] * 50)
    runner = ComparisonRunner([llm], MESSAGES, repeats=5)
    runner.start()
    first = runner.events.get(timeout=10)
    assert isinstance(first.event, RunStarted)
    runner.request_stop()
    gate.set()
    runner.stop()
    assert llm.calls == 1 and llm.closed == 1


def test_a_generic_exception_is_reported_without_a_traceback() -> None:
    comparison = Comparison.new(TARGETS[:1], "hello", "p", "", 1)
    for event in run_all(ComparisonRunner([FakeLLM([], fail=KeyError("x"))], MESSAGES, 1)):
        comparison.apply(event)
        if isinstance(event.event, ReplyError):
            assert isinstance(event.event.error, KeyError)
    assert comparison.sides[0].error is not None
    assert comparison.sides[0].error.startswith("Something went wrong while running this side")
    assert "KeyError" not in comparison.sides[0].error


def test_a_side_shows_the_streams_own_text_and_figures_while_it_runs() -> None:
    events = run_all(ComparisonRunner([FakeLLM(["a ", "b ", "c "])], MESSAGES, repeats=1))
    comparison = Comparison.new(TARGETS[:1], "hello", "p", "", 1)
    side = comparison.sides[0]
    deltas = [e for e in events if isinstance(e.event, AnswerDelta)]
    for event in events[: events.index(deltas[1]) + 1]:
        comparison.apply(event)
    assert side.text == "a b " and side.live_chunks == 2
    assert side.live_figures(deltas[1].at)["ttft_s"] is not None
    assert side.live_figures(deltas[1].at) == deltas[1].event.so_far.live_figures(deltas[1].at)

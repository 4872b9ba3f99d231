"""AnswerRecorder: an answer is saved while it streams and finished exactly once."""

from __future__ import annotations

import pytest

from baseten_llm import errors
from chatapp.services import conversations as convs
from chatapp.services import personas
from chatapp.services.chat import (
    AnswerDelta,
    ReasoningDelta,
    ReplyDone,
    ReplyError,
    ReplyMetrics,
    ReplyProgress,
)
from chatapp.storage.db import init_db, make_engine
from chatapp.users import LOCAL_OWNER

METRICS = ReplyMetrics(0.1, 1.0, 5, 3, 6.0, "stop")


class Ticker:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.3
        return self.now


def answer(
    delta: str, so_far: str, reasoning: str = "", clock: Ticker | None = None
) -> AnswerDelta:
    """A delta as a stream hands it on: the piece, and the reply so far."""
    return AnswerDelta(delta, ReplyProgress(so_far, reasoning, clock=clock or Ticker()))


def thinking(delta: str, so_far: str, clock: Ticker | None = None) -> ReasoningDelta:
    return ReasoningDelta(delta, ReplyProgress("", so_far, clock=clock or Ticker()))


@pytest.fixture()
def setup(database_url: str):
    engine = make_engine(database_url)
    init_db(engine)
    conv = convs.create_conversation(engine, personas.default_persona(engine), owner=LOCAL_OWNER)
    convs.add_user_message(engine, conv.id, "hi", owner=LOCAL_OWNER)
    return engine, conv.id, convs.start_answer(engine, conv.id, {}, owner=LOCAL_OWNER)


def last(engine, conv_id):
    return convs.list_messages(engine, conv_id, owner=LOCAL_OWNER)[-1]


def test_partial_text_is_saved_every_half_second_while_streaming(setup) -> None:
    engine, conv_id, message_id = setup
    recorder = convs.AnswerRecorder(engine, message_id, clock=Ticker(), owner=LOCAL_OWNER)
    recorder.record(answer("Hel", "Hel"))  # 0.3 s after the start: not yet
    assert last(engine, conv_id).content == ""
    recorder.record(answer("lo", "Hello"))  # 0.6 s after the start: saved
    assert last(engine, conv_id).content == "Hello"
    assert last(engine, conv_id).status == "streaming"


def test_closing_without_a_final_event_keeps_the_text_marked_stopped(setup) -> None:
    engine, conv_id, message_id = setup
    recorder = convs.AnswerRecorder(
        engine, message_id, clock=Ticker(), tokens_in_estimate=9, owner=LOCAL_OWNER
    )
    stream_clock = Ticker()
    recorder.record(thinking("plan", "plan", stream_clock))
    recorder.record(answer("Partial ans", "Partial ans", "plan", stream_clock))
    recorder.close()
    stored = last(engine, conv_id)
    assert (stored.content, stored.reasoning, stored.status) == ("Partial ans", "plan", "stopped")
    assert stored.reply_metrics.estimated and stored.reply_metrics.tokens_in == 9
    assert stored.reply_metrics.finish_reason == "stopped"


def test_a_finished_reply_stores_metrics_and_is_not_overwritten_by_close(setup) -> None:
    engine, conv_id, message_id = setup
    recorder = convs.AnswerRecorder(
        engine, message_id, extra_metrics={"context_dropped": 2}, owner=LOCAL_OWNER
    )
    recorder.record(answer("Done", "Done"))
    recorder.record(ReplyDone("Done", "", METRICS))
    recorder.close()
    stored = last(engine, conv_id)
    assert stored.status == "complete"
    assert stored.metrics["context_dropped"] == 2
    assert stored.reply_metrics.tokens_out == 3


def test_an_error_event_stores_a_readable_message_and_the_partial_text(setup) -> None:
    engine, conv_id, message_id = setup
    recorder = convs.AnswerRecorder(engine, message_id, owner=LOCAL_OWNER)
    exc = errors.RateLimitError("Baseten is rate limiting this key.", retry_after=30)
    recorder.record(ReplyError(exc, "Half an", "", METRICS))
    stored = last(engine, conv_id)
    assert (stored.status, stored.content) == ("error", "Half an")
    assert "Wait about 30 seconds, then press Retry" in stored.error


def test_after_stop_a_finished_answer_is_left_as_the_interrupted_run_saved_it(setup) -> None:
    engine, conv_id, message_id = setup
    convs.finish_answer(
        engine, message_id, text="Part", reasoning="", status="stopped", owner=LOCAL_OWNER
    )
    convs.settle_stopped_answer(engine, message_id, sleep=lambda s: None, owner=LOCAL_OWNER)
    assert (last(engine, conv_id).status, last(engine, conv_id).content) == ("stopped", "Part")


def test_after_stop_an_answer_nobody_finishes_is_marked_stopped_with_its_text(setup) -> None:
    engine, conv_id, message_id = setup
    convs.save_partial(engine, message_id, "Half", "", owner=LOCAL_OWNER)
    ticker = Ticker()
    convs.settle_stopped_answer(
        engine, message_id, timeout_s=1.0, clock=ticker, sleep=lambda s: None, owner=LOCAL_OWNER
    )
    assert (last(engine, conv_id).status, last(engine, conv_id).content) == ("stopped", "Half")

"""While a chat request waits to be retried, the page says why, how long and which attempt."""

from __future__ import annotations

from sqlalchemy import Engine

from baseten_llm import errors
from baseten_llm._http import RetryNotice
from chatapp.services import chat
from chatapp.services import conversations as convs
from chatapp.ui.retry_wait import MAX_TOTAL_WAIT_S, RetryWait
from chatapp.users import LOCAL_OWNER


def notice(attempt: int = 2, delay: float = 30.0) -> RetryNotice:
    error = errors.RateLimitError("429", retry_after=delay)
    return RetryNotice(attempt, 4, delay, error, 0.0, MAX_TOTAL_WAIT_S)


def test_the_rate_limit_message_names_the_wait_and_the_attempt() -> None:
    text = chat.retry_message(notice(), 30.0)
    assert text.startswith("Rate limited by Baseten, retrying in 30 s (attempt 2 of 4).")
    assert f"at most {MAX_TOTAL_WAIT_S:g} s in all" in text and "Stop" in text


class Slot:
    """Records what a placeholder was asked to show."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.cleared = 0

    def info(self, text: str, icon: str | None = None) -> None:
        self.shown.append(text)

    def empty(self) -> None:
        self.cleared += 1


def test_the_wait_counts_down_on_the_page_and_keeps_the_answer_alive(engine: Engine) -> None:
    conversation = convs.create_conversation(engine, None, owner=LOCAL_OWNER)
    message_id = convs.start_answer(
        engine, conversation.id, {"kind": "model_apis"}, owner=LOCAL_OWNER
    )
    before = convs.list_messages(engine, conversation.id, owner=LOCAL_OWNER)[-1].updated_at
    now = [100.0]
    slot = Slot()
    wait = RetryWait(
        slot,
        engine,
        message_id,
        clock=lambda: now[0],
        pause=lambda s: now.__setitem__(0, now[0] + s),
        owner=LOCAL_OWNER,
    )
    wait.on_retry(notice(delay=2.0))
    wait.sleep(2.0)
    assert [t.split(" (")[0] for t in slot.shown] == [
        "Rate limited by Baseten, retrying in 2 s",
        "Rate limited by Baseten, retrying in 2 s",
        "Rate limited by Baseten, retrying in 1 s",
        "Rate limited by Baseten, retrying in 1 s",
    ]
    assert slot.cleared == 1
    assert convs.list_messages(engine, conversation.id, owner=LOCAL_OWNER)[-1].updated_at >= before


def test_a_failure_after_the_wait_cap_says_how_long_the_app_waited() -> None:
    error = errors.RateLimitError("Rate limited.", retry_after=30)
    error.gave_up_after_s = 30.0
    text = convs.describe_failure(error)
    assert "stopped retrying after waiting 30 s in all" in text

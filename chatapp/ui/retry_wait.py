"""Waiting between retries of a chat request, on the page: said, counted down and stoppable.

The client (``baseten_llm``) announces each wait (``on_retry``) and leaves the waiting to
:meth:`RetryWait.sleep`, which waits in short steps and redraws the countdown at each one.
Each redraw is a Streamlit call, so a Stop click (which asks Streamlit to rerun) ends the wait
at once instead of after a blind sleep; the answer's row is touched too, so another tab knows
its writer is alive.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from baseten_llm._http import RetryNotice
from chatapp.services import chat
from chatapp.services import conversations as convs

#: The most a chat answer waits for retries, in all; the page says so while it waits.
MAX_TOTAL_WAIT_S = 60.0
STEP_S = 0.5


class RetryWait:
    """``on_retry`` and ``sleep`` for one answer, drawing into ``slot`` (an ``st.empty()``)."""

    def __init__(
        self,
        slot: Any,
        engine: Any,
        message_id: int,
        *,
        owner: str,
        clock: Callable[[], float] = time.monotonic,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self.slot = slot
        self.engine = engine
        self.message_id = message_id
        self.owner = owner
        self.clock = clock
        self.pause = pause
        self.notice: RetryNotice | None = None

    def llm_overrides(self) -> dict[str, Any]:
        """Keyword arguments for the client: the callback, the sleep and the cap."""
        return {
            "on_retry": self.on_retry,
            "retry_sleep": self.sleep,
            "max_total_retry_wait_s": MAX_TOTAL_WAIT_S,
        }

    def on_retry(self, notice: RetryNotice) -> None:
        self.notice = notice

    def sleep(self, seconds: float) -> None:
        end = self.clock() + seconds
        convs.touch_answer(self.engine, self.message_id, owner=self.owner)
        while (left := end - self.clock()) > 0:
            self.slot.info(self._text(left), icon="⏳")
            self.pause(min(STEP_S, left))
        self.slot.empty()

    def _text(self, left: float) -> str:
        notice = self.notice
        if notice is None:
            return chat.retry_message(None, left)
        return chat.retry_message(notice, left)

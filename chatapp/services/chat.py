"""Streaming one reply with its metrics, as typed events; shared by the chat and compare pages.

:func:`stream_reply` wraps ``llm.stream_chat`` and yields :class:`AnswerDelta` and
:class:`ReasoningDelta` as text arrives, then exactly one :class:`ReplyDone` (with
:class:`ReplyMetrics`) or :class:`ReplyError` (with the exception and the partial text). When
the consumer stops early (``break``, ``.close()``, an exception), the underlying stream is
closed in a ``finally``, which closes the HTTP response so the request does not run on.

Also here: approximate token counting and trimming a history to the context window. What a
person reads about a failed reply is worded by :mod:`chatapp.services.user_errors`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole

Clock = Callable[[], float]
CHARS_PER_TOKEN = 4
#: Per-message overhead of chat templates (role markers), in tokens.
MESSAGE_OVERHEAD_TOKENS = 4
DEFAULT_CONTEXT_WINDOW = 8192
DEFAULT_REPLY_BUDGET = 1024


@dataclass(frozen=True)
class ReplyMetrics:
    """How one reply went. ``estimated`` is true when token counts were guessed from text."""

    ttft_s: float | None
    total_s: float
    tokens_in: int
    tokens_out: int
    tokens_per_s: float | None
    finish_reason: str | None
    estimated: bool = False
    #: Input tokens served from the prompt cache, when the server reported them.
    cached_tokens: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReplyMetrics:
        known: dict[str, Any] = {k: data.get(k) for k in cls.__dataclass_fields__}
        known["estimated"] = bool(known.get("estimated"))
        known["total_s"] = known.get("total_s") or 0.0
        known["tokens_in"] = known.get("tokens_in") or 0
        known["tokens_out"] = known.get("tokens_out") or 0
        return cls(**known)


@dataclass(frozen=True)
class ReplyProgress:
    """The reply so far, as of one event: text, thinking, timings and chunks counted once.

    Every reader of a stream (the recorder that stores it, the view that draws it, a Compare
    side) reads these figures instead of adding the deltas up again. ``clock`` is the one the
    stream is timed with, so :meth:`stopped_metrics` measures on the same scale.
    """

    text: str = ""
    reasoning: str = ""
    started_at: float = 0.0
    first_token_at: float | None = None
    last_token_at: float | None = None
    chunks: int = 0
    clock: Clock = field(default=time.perf_counter, compare=False, repr=False)

    @classmethod
    def starting(cls, clock: Clock = time.perf_counter) -> ReplyProgress:
        """Nothing received yet; the reply's time counts from now."""
        return cls(started_at=clock(), clock=clock)

    def live_figures(self, now: float | None = None) -> dict[str, float | None]:
        """TTFT, tokens/s (chunks per second) and elapsed time, while the reply streams."""
        now = self.clock() if now is None else now
        first, last = self.first_token_at, self.last_token_at
        span = (last - first) if first is not None and last is not None else 0.0
        return {
            "ttft_s": None if first is None else first - self.started_at,
            "tokens_per_s": self.chunks / span if span > 0 else None,
            "total_s": now - self.started_at,
        }

    def stopped_metrics(self, tokens_in: int) -> ReplyMetrics:
        """Estimated figures of a reply stopped before its end (no usage was reported)."""
        tokens_out = estimate_tokens(self.text) + estimate_tokens(self.reasoning)
        span = (self.last_token_at or 0.0) - (self.first_token_at or 0.0)
        return ReplyMetrics(
            ttft_s=None if self.first_token_at is None else self.first_token_at - self.started_at,
            total_s=self.clock() - self.started_at,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            tokens_per_s=tokens_out / span if span > 0 else None,
            finish_reason="stopped",
            estimated=True,
        )


_NOTHING_YET = ReplyProgress()


@dataclass(frozen=True)
class AnswerDelta:
    """A piece of the answer text; ``so_far`` is the whole reply up to and with it."""

    text: str
    so_far: ReplyProgress = field(default=_NOTHING_YET, compare=False, repr=False)


@dataclass(frozen=True)
class ReasoningDelta:
    """A piece of the model's thinking, kept apart from the answer; ``so_far`` as above."""

    text: str
    so_far: ReplyProgress = field(default=_NOTHING_YET, compare=False, repr=False)


@dataclass(frozen=True)
class ReplyDone:
    """The reply finished; ``text`` and ``reasoning`` are complete."""

    text: str
    reasoning: str
    metrics: ReplyMetrics


@dataclass(frozen=True)
class ReplyError:
    """The reply failed; ``partial_text`` is what arrived before it did."""

    error: BaseException
    partial_text: str
    reasoning: str
    metrics: ReplyMetrics


StreamEvent = AnswerDelta | ReasoningDelta | ReplyDone | ReplyError


def estimate_tokens(text: str) -> int:
    """A rough token count (~4 characters per token), never below 1 for non-empty text."""
    if not text:
        return 0
    return max(1, (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN)


def estimate_message_tokens(messages: Sequence[ChatMessage]) -> int:
    """Approximate prompt size of ``messages`` including per-message overhead."""
    return sum(estimate_tokens(m.content or "") + MESSAGE_OVERHEAD_TOKENS for m in messages)


class ReplyTally:
    """Adds up one streamed reply, once: every delta event it makes carries the reply so far
    (:class:`ReplyProgress`), and :meth:`metrics` gives the final figures."""

    def __init__(self, clock: Clock = time.perf_counter) -> None:
        self.progress = ReplyProgress.starting(clock)
        self.usage: dict[str, Any] = {}
        self.finish_reason: str | None = None

    def answer(self, text: str) -> AnswerDelta:
        """Take a piece of the answer; the event to hand on."""
        self._advance(self.progress.text + text, self.progress.reasoning)
        return AnswerDelta(text, self.progress)

    def thinking(self, text: str) -> ReasoningDelta:
        """Take a piece of the thinking; the event to hand on."""
        self._advance(self.progress.text, self.progress.reasoning + text)
        return ReasoningDelta(text, self.progress)

    def cut_short(self, partial_text: str) -> None:
        """A broken stream's own partial text, when it holds more than the deltas did."""
        if partial_text and len(partial_text) > len(self.progress.text):
            self.progress = replace(self.progress, text=partial_text)

    def _advance(self, text: str, reasoning: str) -> None:
        now = self.progress.clock()
        first = self.progress.first_token_at
        self.progress = replace(self.progress, text=text, reasoning=reasoning,
                                chunks=self.progress.chunks + 1,
                                first_token_at=now if first is None else first,
                                last_token_at=now)

    def metrics(self, messages: Sequence[ChatMessage]) -> ReplyMetrics:
        progress = self.progress
        end = progress.clock()
        tokens_in = self.usage.get("prompt_tokens")
        tokens_out = self.usage.get("completion_tokens")
        estimated = tokens_in is None or tokens_out is None
        if tokens_in is None:
            tokens_in = estimate_message_tokens(messages)
        if tokens_out is None:
            tokens_out = estimate_tokens(progress.text) + estimate_tokens(progress.reasoning)
        first, last = progress.first_token_at, progress.last_token_at
        span = (last - first) if first is not None and last else 0.0
        return ReplyMetrics(
            ttft_s=None if first is None else first - progress.started_at,
            total_s=end - progress.started_at,
            tokens_in=int(tokens_in),
            tokens_out=int(tokens_out),
            tokens_per_s=(tokens_out / span) if span > 0 and tokens_out else None,
            finish_reason=self.finish_reason,
            estimated=estimated,
            cached_tokens=_cached_tokens(self.usage),
        )


def _cached_tokens(usage: dict[str, Any]) -> int | None:
    """``cached_tokens`` from the client's usage (flat, or OpenAI's nested details)."""
    value = usage.get("cached_tokens")
    if value is None:
        value = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    return None if value is None else int(value)


def stream_reply(
    llm: Any,
    messages: Sequence[ChatMessage],
    *,
    clock: Clock = time.perf_counter,
    **call_kwargs: Any,
) -> Generator[StreamEvent, None, None]:
    """Stream one reply from ``llm`` as typed events (see the module docstring).

    Errors raised by the client become a final :class:`ReplyError`; they are not re-raised.
    tokens/s is completion tokens over the time from the first to the last token.
    """
    tally = ReplyTally(clock)
    stream = None
    try:
        stream = llm.stream_chat(list(messages), **call_kwargs)
        for chunk in stream:
            yield from _events_of(chunk, tally)
    except Exception as exc:  # noqa: BLE001 - every failure becomes an event
        tally.cut_short(getattr(exc, "partial_text", "") or "")
        so_far = tally.progress
        yield ReplyError(exc, so_far.text, so_far.reasoning, tally.metrics(messages))
        return
    finally:
        if stream is not None and hasattr(stream, "close"):
            stream.close()
    yield ReplyDone(tally.progress.text, tally.progress.reasoning, tally.metrics(messages))


def _events_of(chunk: Any, tally: ReplyTally) -> Iterator[StreamEvent]:
    kwargs = getattr(chunk, "additional_kwargs", None) or {}
    reasoning = kwargs.get("reasoning_delta") or ""
    delta = getattr(chunk, "delta", None) or ""
    if kwargs.get("usage"):
        tally.usage = dict(kwargs["usage"])
    if kwargs.get("finish_reason"):
        tally.finish_reason = kwargs["finish_reason"]
    if reasoning:
        yield tally.thinking(reasoning)
    if delta:
        yield tally.answer(delta)


# --- context window ------------------------------------------------------------------------


@dataclass(frozen=True)
class FittedHistory:
    """The messages to send and how many earlier ones were left out to fit the window."""

    messages: list[ChatMessage]
    dropped: int
    budget_tokens: int


def fit_to_context(
    system_prompt: str,
    history: Sequence[ChatMessage],
    context_window: int | None,
    max_tokens: int | None,
) -> FittedHistory:
    """Keep the system prompt and the newest turns within ``context_window - max_tokens``.

    The last message (the question being asked) is always kept. Turns are dropped oldest
    first; an assistant answer is never kept without the question before it.
    """
    window = context_window or DEFAULT_CONTEXT_WINDOW
    reply = max_tokens or min(DEFAULT_REPLY_BUDGET, window // 4)
    budget = max(window - reply, 0)
    system = [ChatMessage(role=MessageRole.SYSTEM, content=system_prompt)] if system_prompt else []
    used = estimate_message_tokens(system)
    kept: list[ChatMessage] = []
    for index in range(len(history) - 1, -1, -1):
        cost = estimate_message_tokens([history[index]])
        if kept and used + cost > budget:
            break
        kept.insert(0, history[index])
        used += cost
    while len(kept) > 1 and kept[0].role == MessageRole.ASSISTANT:
        kept.pop(0)
    return FittedHistory(system + kept, len(history) - len(kept), budget)


# --- waiting between retries ---------------------------------------------------------------


def retry_message(notice: Any, seconds_left: float) -> str:
    """What the page says while a request waits to be retried, e.g. ``Rate limited by
    Baseten, retrying in 30 s (attempt 2 of 4).`` plus the cap on the total wait."""
    import math

    from baseten_llm import errors

    left = max(1, math.ceil(seconds_left))
    if notice is None:
        return f"Retrying in {left} s."
    if isinstance(notice.error, errors.RateLimitError):
        why = "Rate limited by Baseten"
    elif isinstance(notice.error, errors.APIConnectionError):
        why = "Could not reach Baseten"
    else:
        why = "Baseten had a temporary problem"
    text = f"{why}, retrying in {left} s (attempt {notice.attempt} of {notice.max_attempts})."
    if notice.max_total_wait_s:
        text += (f" The app waits at most {notice.max_total_wait_s:g} s in all before it "
                 "gives up; press Stop to give up now.")
    return text

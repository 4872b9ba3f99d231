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
from dataclasses import asdict, dataclass, field
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
    """The reply so far, as of one event: text, thinking and timings, as the stream reports them.

    The library's stream (:class:`baseten_llm.ChatStream`) adds the reply up; every reader (the
    recorder that stores it, the view that draws it, a Compare side) reads this copy of its
    figures instead of adding the deltas up again. ``clock`` is the one the stream is timed
    with, so :meth:`stopped_metrics` measures on the same scale; ``chunks`` counts the delta
    events handed on.
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

    @classmethod
    def of(cls, stream: Any, chunks: int) -> ReplyProgress:
        """What ``stream`` (a :class:`baseten_llm.ChatStream`) has received so far."""
        return cls(
            stream.text,
            stream.reasoning,
            stream.started_at,
            stream.first_token_at,
            stream.last_token_at,
            chunks,
            stream.clock,
        )

    @property
    def generation_s(self) -> float:
        """From the first to the latest token (0 before the second)."""
        first, last = self.first_token_at, self.last_token_at
        return (last - first) if first is not None and last is not None else 0.0

    def live_figures(self, now: float | None = None) -> dict[str, float | None]:
        """TTFT, tokens/s (chunks per second) and elapsed time, while the reply streams."""
        now = self.clock() if now is None else now
        span = self.generation_s
        return {
            "ttft_s": self.ttft_s,
            "tokens_per_s": self.chunks / span if span > 0 else None,
            "total_s": now - self.started_at,
        }

    @property
    def ttft_s(self) -> float | None:
        return None if self.first_token_at is None else self.first_token_at - self.started_at

    def stopped_metrics(self, tokens_in: int) -> ReplyMetrics:
        """Estimated figures of a reply stopped before its end (no usage was reported)."""
        tokens_out = estimate_tokens(self.text) + estimate_tokens(self.reasoning)
        span = self.generation_s
        return ReplyMetrics(
            ttft_s=self.ttft_s,
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


class _StreamReading:
    """Turns the chunks of one library stream into events; the text and timings they carry are
    the stream's own (:class:`ReplyProgress`), nothing is added up here."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.chunks = 0

    def events_of(self, chunk: Any) -> Iterator[StreamEvent]:
        kwargs = getattr(chunk, "additional_kwargs", None) or {}
        reasoning = kwargs.get("reasoning_delta") or ""
        delta = getattr(chunk, "delta", None) or ""
        if reasoning:
            self.chunks += 1
            yield ReasoningDelta(reasoning, ReplyProgress.of(self.stream, self.chunks))
        if delta:
            self.chunks += 1
            yield AnswerDelta(delta, ReplyProgress.of(self.stream, self.chunks))

    def metrics(self, messages: Sequence[ChatMessage]) -> ReplyMetrics:
        """The final figures: the stream's, with token counts estimated where none came."""
        stream = self.stream
        reported = stream.metrics
        usage = reported.usage or {}
        tokens_in = usage.get("prompt_tokens")
        tokens_out = usage.get("completion_tokens")
        estimated = tokens_in is None or tokens_out is None
        if tokens_in is None:
            tokens_in = estimate_message_tokens(messages)
        if tokens_out is None:
            tokens_out = estimate_tokens(stream.text) + estimate_tokens(stream.reasoning)
        span = ReplyProgress.of(stream, self.chunks).generation_s
        return ReplyMetrics(
            ttft_s=reported.time_to_first_token_s,
            total_s=reported.elapsed_s,
            tokens_in=int(tokens_in),
            tokens_out=int(tokens_out),
            tokens_per_s=(tokens_out / span) if span > 0 and tokens_out else None,
            finish_reason=reported.finish_reason,
            estimated=estimated,
            cached_tokens=_cached_tokens(usage),
        )


def _cached_tokens(usage: dict[str, Any]) -> int | None:
    """``cached_tokens`` from the client's usage (flat, or OpenAI's nested details)."""
    value = usage.get("cached_tokens")
    if value is None:
        value = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    return None if value is None else int(value)


def _unsent(messages: Sequence[ChatMessage], started_at: float) -> ReplyMetrics:
    """The figures of a reply whose stream never opened (refused, unreachable): the time it
    took to fail, on ``time.perf_counter`` (the streams' own clock unless one is injected)."""
    return ReplyMetrics(
        None,
        time.perf_counter() - started_at,
        estimate_message_tokens(messages),
        0,
        None,
        None,
        estimated=True,
    )


def stream_reply(
    llm: Any,
    messages: Sequence[ChatMessage],
    **call_kwargs: Any,
) -> Generator[StreamEvent, None, None]:
    """Stream one reply from ``llm`` as typed events (see the module docstring).

    ``llm.stream_chat`` returns the library's stream object (:class:`baseten_llm.ChatStream`),
    which adds the reply up and times it with its own clock (``Baseten(stream_clock=...)``);
    every event reads its figures from there. Errors raised by the client become a final
    :class:`ReplyError`; they are not re-raised. tokens/s is completion tokens over the time
    from the first to the last token.
    """
    started_at = time.perf_counter()
    reading: _StreamReading | None = None
    try:
        reading = _StreamReading(llm.stream_chat(list(messages), **call_kwargs))
        for chunk in reading.stream:
            yield from reading.events_of(chunk)
    except Exception as exc:  # noqa: BLE001 - every failure becomes an event
        if reading is None:
            yield ReplyError(exc, "", "", _unsent(messages, started_at))
        else:
            stream = reading.stream
            yield ReplyError(exc, stream.text, stream.reasoning, reading.metrics(messages))
        return
    finally:
        if reading is not None:
            reading.stream.close()
    stream = reading.stream
    yield ReplyDone(stream.text, stream.reasoning, reading.metrics(messages))


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
        text += (
            f" The app waits at most {notice.max_total_wait_s:g} s in all before it "
            "gives up; press Stop to give up now."
        )
    return text

"""Compare two or three targets on one prompt: concurrent streams, per-run figures, statistics.

:class:`ComparisonRunner` streams the same messages to every side at once, one worker thread per
side, and pushes :class:`SideEvent` s into one queue; the caller (the page's script thread)
drains it with :meth:`ComparisonRunner.batches` and folds each event into a
:class:`Comparison` with :meth:`Comparison.apply`. Nothing here touches Streamlit, so the
caller is the only one that draws.

A side whose client could not be built, or that fails with an error that will not go away on
its own (401, 403, 404, a bad model id ...), stops after that error; transient errors (429,
5xx, a cut stream) are recorded for that run and the side goes on. Other sides never notice.

Statistics (:func:`summarize`) are p50/p95 per metric over a side's successful runs, optionally
without a first run flagged as a likely cold start (:func:`is_cold_start`).
"""

from __future__ import annotations

import math
import queue
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from llama_index.core.base.llms.types import ChatMessage

from chatapp.services import user_errors
from chatapp.services.chat import (
    AnswerDelta,
    ReasoningDelta,
    ReplyDone,
    ReplyError,
    ReplyMetrics,
    ReplyProgress,
    StreamEvent,
    stream_reply,
)
from chatapp.targets import Target

Clock = Callable[[], float]
SIDE_NAMES = "ABC"
MAX_SIDES = 3
MAX_REPEATS = 20
#: A first run is a likely cold start when its TTFT is this many times the median of the rest...
COLD_START_FACTOR = 3.0
#: ... and above this many seconds (a 0.1 s vs 0.02 s difference is noise, not a cold start).
COLD_START_MIN_S = 1.0
#: (attribute of ReplyMetrics, label, unit) for every figure the statistics cover.
METRICS: tuple[tuple[str, str, str], ...] = (
    ("ttft_s", "Time to first token", "s"),
    ("tokens_per_s", "Throughput", "tokens/s"),
    ("total_s", "Total time", "s"),
    ("tokens_in", "Tokens in", "tokens"),
    ("tokens_out", "Tokens out", "tokens"),
)


# --- events from the workers ----------------------------------------------------------------


@dataclass(frozen=True)
class RunStarted:
    """A side begins one run (its request is about to be sent)."""


@dataclass(frozen=True)
class SideFinished:
    """A side's worker is done: every run finished, or it stopped on a lasting error."""


@dataclass(frozen=True)
class SideEvent:
    """One event of one side: ``run`` counts from 1; ``at`` is the worker's clock reading."""

    side: int
    run: int
    event: StreamEvent | RunStarted | SideFinished
    at: float


def is_lasting_error(exc: BaseException) -> bool:
    """True for errors that repeating the request will not fix (keys, ids, permissions)."""
    from baseten_llm import errors

    lasting = (
        errors.ConfigurationError,
        errors.UnknownModelError,
        errors.AuthenticationError,
        errors.PaymentRequiredError,
        errors.PermissionDeniedError,
        errors.NotFoundError,
        errors.BadRequestError,
        errors.UnprocessableEntityError,
        errors.PayloadTooLargeError,
    )
    return isinstance(exc, lasting)


class ComparisonRunner:
    """Streams ``messages`` to every side ``repeats`` times, concurrently, one thread per side.

    ``clients[i]`` is the LLM of side ``i``, or the exception raised while building it (that
    side then reports the error and finishes at once). Use as a context manager: leaving the
    block stops the workers, which close their HTTP streams.
    """

    def __init__(
        self,
        clients: Sequence[Any],
        messages: Sequence[ChatMessage],
        repeats: int,
        call_kwargs: dict[str, Any] | None = None,
        *,
        clock: Clock = time.perf_counter,
    ) -> None:
        self.clients = list(clients)
        self.messages = list(messages)
        self.repeats = max(1, int(repeats))
        self.call_kwargs = dict(call_kwargs or {})
        self.clock = clock
        self.events: queue.Queue[SideEvent] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> ComparisonRunner:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start one daemon worker per side."""
        for side, client in enumerate(self.clients):
            thread = threading.Thread(
                target=self._work, args=(side, client), name=f"compare-{side}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def request_stop(self) -> None:
        """Ask every worker to stop after its current chunk (returns at once)."""
        self._stop.set()

    def stop(self, join_s: float = 5.0) -> None:
        """Ask every worker to stop after its current chunk, and wait for them briefly."""
        self.request_stop()
        for thread in self._threads:
            thread.join(timeout=join_s)

    def batches(self, poll_s: float = 0.05) -> Iterator[list[SideEvent]]:
        """Yield the events that arrived since the last batch, until every side has finished.

        Blocks at most ``poll_s`` waiting for the first event of a batch, so the caller
        redraws a few times a second however fast the tokens come.
        """
        remaining = len(self.clients)
        while remaining:
            batch = self._drain(poll_s)
            remaining -= sum(isinstance(e.event, SideFinished) for e in batch)
            if batch:
                yield batch

    def _drain(self, poll_s: float) -> list[SideEvent]:
        try:
            batch = [self.events.get(timeout=poll_s)]
        except queue.Empty:
            return []
        while True:
            try:
                batch.append(self.events.get_nowait())
            except queue.Empty:
                return batch

    def _put(self, side: int, run: int, event: Any) -> None:
        self.events.put(SideEvent(side, run, event, self.clock()))

    def _work(self, side: int, client: Any) -> None:
        try:
            if isinstance(client, BaseException):
                empty = ReplyMetrics(None, 0.0, 0, 0, None, None)
                self._put(side, 1, ReplyError(client, "", "", empty))
                return
            for run in range(1, self.repeats + 1):
                if self._stop.is_set() or not self._one_run(side, run, client):
                    return
        finally:
            self._put(side, 0, SideFinished())

    def _one_run(self, side: int, run: int, client: Any) -> bool:
        """Stream one reply; False when the side should not go on."""
        self._put(side, run, RunStarted())
        events = stream_reply(client, self.messages, **self.call_kwargs)
        try:
            for event in events:
                self._put(side, run, event)
                if isinstance(event, ReplyError):
                    return not is_lasting_error(event.error)
                if self._stop.is_set():
                    return False
        finally:
            events.close()
        return True


# --- the comparison being built ---------------------------------------------------------------


@dataclass
class RunRecord:
    """One finished run of one side: figures (also partial ones for a failed run), or an error."""

    run: int
    metrics: ReplyMetrics
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class SideResult:
    """One target's runs, plus what the page shows while it streams (read from the stream's
    own :class:`~chatapp.services.chat.ReplyProgress`, never added up here)."""

    name: str
    target: Target
    runs: list[RunRecord] = field(default_factory=list)
    error: str | None = None
    text: str = ""
    reasoning: str = ""
    current_run: int = 0
    run_started_at: float | None = None
    progress: ReplyProgress | None = None
    finished: bool = False

    @property
    def label(self) -> str:
        """``A · Dedicated · abcd1234 · production``."""
        return f"{self.name} · {self.target.label}"

    @property
    def ok_runs(self) -> list[RunRecord]:
        return [r for r in self.runs if r.ok]

    @property
    def live_chunks(self) -> int:
        """Chunks received so far in the run in progress."""
        return self.progress.chunks if self.progress else 0

    def live_figures(self, now: float) -> dict[str, float | None]:
        """TTFT, tokens/s and elapsed time of the run in progress (tokens/s counts chunks)."""
        if self.progress is not None:
            return self.progress.live_figures(now)
        start = self.run_started_at
        return {
            "ttft_s": None,
            "tokens_per_s": None,
            "total_s": None if start is None else now - start,
        }

    def apply(self, event: SideEvent) -> None:
        """Fold one event of this side into the result."""
        inner = event.event
        if isinstance(inner, RunStarted):
            self.current_run, self.run_started_at = event.run, event.at
            self.text, self.reasoning, self.progress = "", "", None
        elif isinstance(inner, (AnswerDelta, ReasoningDelta)):
            self.progress = inner.so_far
            self.text, self.reasoning = inner.so_far.text, inner.so_far.reasoning
        elif isinstance(inner, ReplyDone):
            self.text, self.reasoning = inner.text, inner.reasoning
            self.runs.append(RunRecord(event.run, inner.metrics))
        elif isinstance(inner, ReplyError):
            self._failed(event.run, inner)
        elif isinstance(inner, SideFinished):
            self.finished = True

    def _failed(self, run: int, failure: ReplyError) -> None:
        message = user_errors.describe(failure.error, context="compare")
        self.text = failure.partial_text
        self.error = message
        if self.current_run:  # the request was sent: a run with (partial) figures
            self.runs.append(RunRecord(run, failure.metrics, error=message))


@dataclass
class Comparison:
    """Everything about one comparison: what was asked, of whom, and how each side did."""

    prompt: str
    persona: str
    system_prompt: str
    repeats: int
    sides: list[SideResult]
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @classmethod
    def new(
        cls,
        targets: Sequence[Target],
        prompt: str,
        persona: str,
        system_prompt: str,
        repeats: int,
    ) -> Comparison:
        sides = [SideResult(SIDE_NAMES[i], t) for i, t in enumerate(targets[:MAX_SIDES])]
        return cls(prompt, persona, system_prompt, repeats, sides)

    def apply(self, event: SideEvent) -> None:
        self.sides[event.side].apply(event)

    @property
    def finished(self) -> bool:
        return all(side.finished for side in self.sides)


# --- statistics -------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation between ranks; None if empty."""
    data = sorted(v for v in values if v is not None and math.isfinite(v))
    if not data:
        return None
    position = (len(data) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (position - low)


def is_cold_start(
    side: SideResult, factor: float = COLD_START_FACTOR, min_s: float = COLD_START_MIN_S
) -> bool:
    """True when run 1 succeeded and its TTFT is > ``factor`` × the median TTFT of the later
    successful runs and > ``min_s`` seconds."""
    ok = side.ok_runs
    if len(ok) < 2 or ok[0].run != 1 or ok[0].metrics.ttft_s is None:
        return False
    later = [r.metrics.ttft_s for r in ok[1:] if r.metrics.ttft_s is not None]
    if not later:
        return False
    first = ok[0].metrics.ttft_s
    return first > min_s and first > factor * statistics.median(later)


def runs_used(side: SideResult, exclude_cold_start: bool) -> list[RunRecord]:
    """The runs the statistics cover: successful ones, without a flagged cold start if asked."""
    ok = side.ok_runs
    if exclude_cold_start and is_cold_start(side):
        return ok[1:]
    return ok


@dataclass(frozen=True)
class SideSummary:
    """p50 and p95 of every metric over the runs used."""

    name: str
    label: str
    target_label: str
    runs_used: int
    runs_failed: int
    cold_start: bool
    cold_start_excluded: bool
    p50: dict[str, float | None]
    p95: dict[str, float | None]


def summarize(side: SideResult, exclude_cold_start: bool = False) -> SideSummary:
    """Per-metric p50/p95 of one side."""
    used = runs_used(side, exclude_cold_start)
    cold = is_cold_start(side)
    p50: dict[str, float | None] = {}
    p95: dict[str, float | None] = {}
    for name, _label, _unit in METRICS:
        values = [getattr(r.metrics, name) for r in used]
        values = [float(v) for v in values if v is not None]
        p50[name], p95[name] = percentile(values, 50), percentile(values, 95)
    return SideSummary(
        name=side.name,
        label=side.label,
        target_label=side.target.label,
        runs_used=len(used),
        runs_failed=sum(not r.ok for r in side.runs),
        cold_start=cold,
        cold_start_excluded=cold and exclude_cold_start,
        p50=p50,
        p95=p95,
    )


def summarize_all(comparison: Comparison, exclude_cold_start: bool = False) -> list[SideSummary]:
    return [summarize(side, exclude_cold_start) for side in comparison.sides]

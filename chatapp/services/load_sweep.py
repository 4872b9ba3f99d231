"""Load sweep: how many simultaneous users a target serves before latency climbs.

:class:`SweepRunner` runs the same prompt at each concurrency of a :class:`SweepPlan` in turn:
for one step it keeps ``concurrency`` streams going (one worker thread each; a worker starts
its next request when its last one ends) until the step's duration is up, then waits for the
requests in flight. Bounds: at most ``max_requests_per_step`` requests per step and
``max_total_s`` for the whole sweep (steps that would start later are skipped and said so).

The clients come from ``make_client(http_client)`` and must not retry (``max_retries=0``): a
429 is a result of the measurement, counted, never hidden by a retry. After a failed request a
worker waits :data:`ERROR_PAUSE_S` before its next one, so a refusing server is not hammered.
All of a sweep's streams share one ``httpx.Client`` sized for the largest step; :meth:`stop`
closes it, which ends every stream at once.

Per step (:class:`StepResult`): TTFT p50/p95, tokens/s per stream (median of the requests'
own rates) and in total (tokens of finished requests over the step's wall time), errors and
429s. :func:`find_knee` names the most streams served before the p95 time to first token climbs
past :data:`KNEE_FACTOR` times that of the first step or requests start failing.
Nothing here imports Streamlit; the page polls :meth:`SweepRunner.snapshot`.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Literal

import httpx
from llama_index.core.base.llms.types import ChatMessage

from chatapp.services.chat import ReplyDone, ReplyError, stream_reply
from chatapp.services.compare import percentile
from chatapp.targets import Target

Clock = Callable[[], float]
DEFAULT_CONCURRENCIES = (1, 2, 4, 8, 16)
MAX_CONCURRENCY = 64
MAX_STEPS = 10
ERROR_PAUSE_S = 0.2
#: A step's p95 TTFT above this many times the first step's (and KNEE_MIN_RISE_S more) ...
KNEE_FACTOR = 1.5
KNEE_MIN_RISE_S = 0.05
#: ... or more than this share of failed requests marks latency climbing.
KNEE_MAX_FAILED_SHARE = 0.05

Outcome = Literal["ok", "rate_limited", "error", "stopped"]


@dataclass(frozen=True)
class SweepPlan:
    """What to run: concurrencies in order, seconds per step, and the bounds."""

    concurrencies: tuple[int, ...] = DEFAULT_CONCURRENCIES
    step_s: float = 10.0
    max_requests_per_step: int = 200
    max_total_s: float = 300.0

    @property
    def max_concurrency(self) -> int:
        return max(self.concurrencies)


def parse_concurrencies(text: str) -> tuple[int, ...]:
    """``"1, 2, 4"`` -> ``(1, 2, 4)``; a ValueError says what is wrong in plain words."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        return DEFAULT_CONCURRENCIES
    if not all(p.isdigit() for p in parts):
        raise ValueError("Concurrencies are whole numbers separated by commas, e.g. 1, 2, 4, 8.")
    values = tuple(sorted({int(p) for p in parts}))
    if values[0] < 1 or values[-1] > MAX_CONCURRENCY:
        raise ValueError(f"Each concurrency must be between 1 and {MAX_CONCURRENCY}.")
    if len(values) > MAX_STEPS:
        raise ValueError(f"At most {MAX_STEPS} concurrencies per sweep.")
    return values


@dataclass(frozen=True)
class RequestResult:
    """One request of a step."""

    outcome: Outcome
    ttft_s: float | None = None
    total_s: float = 0.0
    tokens_out: int = 0
    tokens_per_s: float | None = None
    error: str | None = None


@dataclass
class StepResult:
    """One concurrency's requests and its wall time."""

    concurrency: int
    started_at: float
    ended_at: float | None = None
    results: list[RequestResult] = field(default_factory=list)
    stopped: bool = False

    def _ok(self) -> list[RequestResult]:
        return [r for r in self.results if r.outcome == "ok"]

    @property
    def requests(self) -> int:
        return sum(r.outcome != "stopped" for r in self.results)

    @property
    def rate_limited(self) -> int:
        return sum(r.outcome == "rate_limited" for r in self.results)

    @property
    def errors(self) -> int:
        return sum(r.outcome == "error" for r in self.results)

    def ttft(self, q: float) -> float | None:
        return percentile([r.ttft_s for r in self._ok() if r.ttft_s is not None], q)

    @property
    def stream_tokens_per_s(self) -> float | None:
        rates = [r.tokens_per_s for r in self._ok() if r.tokens_per_s]
        return statistics.median(rates) if rates else None

    def total_tokens_per_s(self, now: float | None = None) -> float | None:
        end = self.ended_at if self.ended_at is not None else now
        if end is None or end <= self.started_at:
            return None
        return sum(r.tokens_out for r in self._ok()) / (end - self.started_at)

    @property
    def wall_s(self) -> float:
        return 0.0 if self.ended_at is None else self.ended_at - self.started_at

    @property
    def failed_share(self) -> float:
        return (self.errors + self.rate_limited) / self.requests if self.requests else 0.0

    def row(self, now: float | None = None) -> dict[str, Any]:
        """The figures of the step's table, rounded for people."""

        def rounded(value: float | None, digits: int) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "Concurrency": self.concurrency,
            "Requests": self.requests,
            "TTFT p50 (s)": rounded(self.ttft(50), 3),
            "TTFT p95 (s)": rounded(self.ttft(95), 3),
            "Tokens/s per stream": rounded(self.stream_tokens_per_s, 1),
            "Tokens/s total": rounded(self.total_tokens_per_s(now), 1),
            "Errors": self.errors,
            "429s": self.rate_limited,
        }


@dataclass
class Sweep:
    """A sweep's inputs and results (kept in the session, put in the report)."""

    target: Target
    prompt: str
    plan: SweepPlan
    steps: list[StepResult] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    stopped: bool = False
    finished: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def knee(self) -> int | None:
        return find_knee(self.steps)

    def knee_note(self) -> str:
        """One sentence on where latency climbs, for the page and the report."""
        done = [s for s in self.steps if s.ended_at is not None and not s.stopped]
        if not done:
            return "No step finished."
        knee = self.knee
        climbed = next((s for s in done if s.concurrency > (knee or 0)), None)
        if knee is None:
            return (
                f"Latency already climbs or requests fail at {done[0].concurrency} "
                "concurrent stream(s): the lowest step is past the knee."
            )
        if climbed is None:
            return (
                f"No knee up to {done[-1].concurrency} concurrent streams: time to first "
                "token stayed flat and no request failed."
            )
        return (
            f"Knee at {knee} concurrent streams: at {climbed.concurrency} the p95 time to "
            "first token or the share of failed requests climbs, or each stream slows."
        )


def step_degraded(step: StepResult, base_p95: float | None, base_rate: float | None = None) -> bool:
    if step.failed_share > KNEE_MAX_FAILED_SHARE:
        return True
    rate = step.stream_tokens_per_s
    if base_rate and rate is not None and rate < base_rate / KNEE_FACTOR:
        return True
    p95 = step.ttft(95)
    if p95 is None:
        return step.requests > 0  # nothing succeeded
    if base_p95 is None:
        return False
    return p95 > KNEE_FACTOR * base_p95 and p95 - base_p95 > KNEE_MIN_RISE_S


def find_knee(steps: Sequence[StepResult]) -> int | None:
    """The highest concurrency before the first degraded step (all steps finished and not
    stopped are considered, in order); the last one when none degrades; None when the first
    step is already degraded or none finished."""
    done = [s for s in steps if s.ended_at is not None and not s.stopped]
    if not done:
        return None
    base, base_rate = done[0].ttft(95), done[0].stream_tokens_per_s
    knee = None
    for step in done:
        if step_degraded(step, base, base_rate):
            return knee
        knee = step.concurrency
    return knee


class SweepRunner:
    """Runs a :class:`Sweep` in a background thread; use as a context manager (leaving the
    block stops it and closes every stream)."""

    def __init__(
        self,
        sweep: Sweep,
        make_client: Callable[[httpx.Client], Any],
        messages: Sequence[ChatMessage],
        call_kwargs: dict[str, Any] | None = None,
        *,
        clock: Clock = time.perf_counter,
    ) -> None:
        self.sweep = sweep
        self.make_client = make_client
        self.messages = list(messages)
        self.call_kwargs = dict(call_kwargs or {})
        self.clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()
        size = sweep.plan.max_concurrency
        self.http = httpx.Client(
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
            timeout=httpx.Timeout(120.0, connect=10.0),
            trust_env=False,
        )
        self._thread = threading.Thread(target=self._run, name="load-sweep", daemon=True)

    def __enter__(self) -> SweepRunner:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def finished(self) -> bool:
        return self.sweep.finished

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the sweep to end; True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self, join_s: float = 10.0) -> None:
        """Stop now: no new request, every open stream closed (the shared client is closed).
        Safe to call from several threads and more than once."""
        if not self.sweep.finished:
            self._stop.set()
        self.http.close()
        if self._thread.is_alive():
            self._thread.join(join_s)
        with self._lock:
            if self._stop.is_set():
                self.sweep.stopped = True
            self.sweep.finished = True

    def snapshot(self) -> tuple[list[dict[str, Any]], StepResult | None]:
        """The table rows so far and the step running now (a copy, safe to read)."""
        now = self.clock()
        with self._lock:
            rows = [s.row(now) for s in self.sweep.steps]
            current = next(
                (
                    replace(s, results=list(s.results))
                    for s in self.sweep.steps
                    if s.ended_at is None
                ),
                None,
            )
        return rows, current

    # --- the background thread ---------------------------------------------------------

    def _run(self) -> None:
        plan, start = self.sweep.plan, self.clock()
        try:
            for concurrency in plan.concurrencies:
                if self._stop.is_set():
                    break
                if self.clock() - start + plan.step_s > plan.max_total_s:
                    with self._lock:
                        self.sweep.skipped = [c for c in plan.concurrencies if c >= concurrency]
                    break
                self._step(concurrency)
        finally:
            with self._lock:
                self.sweep.finished = True

    def _step(self, concurrency: int) -> None:
        step = StepResult(concurrency, self.clock())
        with self._lock:
            self.sweep.steps.append(step)
        deadline = step.started_at + self.sweep.plan.step_s
        budget = [self.sweep.plan.max_requests_per_step]
        client = self.make_client(self.http)
        workers = [
            threading.Thread(
                target=self._worker,
                args=(client, step, deadline, budget),
                name=f"sweep-{concurrency}-{i}",
                daemon=True,
            )
            for i in range(concurrency)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        with self._lock:
            step.ended_at = self.clock()
            step.stopped = self._stop.is_set()

    def _take(self, budget: list[int], deadline: float) -> bool:
        with self._lock:
            if self._stop.is_set() or self.clock() >= deadline or budget[0] <= 0:
                return False
            budget[0] -= 1
            return True

    def _worker(self, client: Any, step: StepResult, deadline: float, budget: list[int]) -> None:
        while self._take(budget, deadline):
            result = self._one(client)
            with self._lock:
                step.results.append(result)
            if result.outcome in ("error", "rate_limited"):
                self._stop.wait(ERROR_PAUSE_S)

    def _one(self, client: Any) -> RequestResult:
        from baseten_llm import errors

        events = stream_reply(client, self.messages, **self.call_kwargs)
        try:
            for event in events:
                if isinstance(event, ReplyDone):
                    m = event.metrics
                    return RequestResult("ok", m.ttft_s, m.total_s, m.tokens_out, m.tokens_per_s)
                if isinstance(event, ReplyError):
                    if self._stop.is_set():
                        return RequestResult("stopped", error="stopped")
                    outcome: Outcome = (
                        "rate_limited"
                        if isinstance(event.error, errors.RateLimitError)
                        else "error"
                    )
                    return RequestResult(
                        outcome, total_s=event.metrics.total_s, error=str(event.error)
                    )
                if self._stop.is_set():
                    return RequestResult("stopped", error="stopped")
        finally:
            events.close()
        return RequestResult("stopped", error="stopped")

"""Status polling for unfinished jobs, at a pace Baseten's rate limit allows.

Every session of the process shares one :class:`StatusPoller`
(``chatapp.resources.get_status_poller``): its token bucket keeps all status calls at no more
than 10 in any second, and each job is asked about at most once every :data:`POLL_INTERVAL_S`
seconds, only while it is unfinished and its result has not arrived. A 429 pauses polling for
its ``Retry-After``. A session polls only its own user's jobs, with its own client.

With several replicas on one database, a job is claimed before it is asked about
(:func:`chatapp.storage.jobs.claim_due_jobs`: ``FOR UPDATE SKIP LOCKED`` on its row, and
``status_checked_at`` moved to now as a lease), so no two replicas poll the same job within an
interval. Each replica keeps its own token bucket: N replicas make at most N times 10 status
calls per second in all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from baseten_llm import errors
from chatapp.services import user_errors
from chatapp.services.job_results import errors_text
from chatapp.services.jobs import ClientFactory, JobsClient, job_target
from chatapp.storage import jobs as store
from chatapp.storage.db import session_scope
from chatapp.targets import Target

#: Status calls from this process: a steady rate plus a small burst, so that no 1-second
#: window ever holds more than ``POLL_RATE_PER_S + POLL_BURST`` = 10 calls (Baseten allows
#: 20 to 100 per second, depending on which of its documents you read).
POLL_RATE_PER_S = 8.0
POLL_BURST = 2.0
#: A job's status is asked for at most once per this many seconds.
POLL_INTERVAL_S = 5.0


class TokenBucket:
    """At most ``rate`` takes per second on average, bursts up to ``capacity``."""

    def __init__(self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._updated = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def try_take(self) -> bool:
        """Take one token if one is available now."""
        with self._lock:
            now = self._clock()
            if now < self._paused_until:
                return False
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True

    def pause(self, seconds: float) -> None:
        """Give no token for ``seconds`` (after a 429 with ``Retry-After``)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
            self._tokens = 0


@dataclass
class PollReport:
    """What one polling round did."""

    polled: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    rate_limited: bool = False


class StatusPoller:
    """Decides which unfinished jobs to ask Baseten about now, and asks."""

    def __init__(
        self,
        bucket: TokenBucket | None = None,
        interval_s: float = POLL_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.bucket = bucket or TokenBucket(POLL_RATE_PER_S, POLL_BURST, clock)
        self.interval_s = interval_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim_due(self, rows: Iterable[store.JobRow]) -> list[store.JobRow]:
        """Unfinished jobs not asked about for ``interval_s``, oldest check first, one token each."""
        with self._lock:
            now = self._clock()
            due = [
                r
                for r in rows
                if r.is_unfinished
                and now - self._last.get(r.request_id, float("-inf")) >= self.interval_s
            ]
            due.sort(key=lambda r: self._last.get(r.request_id, float("-inf")))
            claimed = []
            for row in due:
                if not self.bucket.try_take():
                    break
                self._last[row.request_id] = now
                claimed.append(row)
            return claimed

    def poll(self, engine: Engine, client_for: ClientFactory, *, owner: str) -> PollReport:
        """Claim ``owner``'s jobs that are due (in the database, so that no other replica asks
        about them within ``interval_s``), ask about each, and record the answers."""
        with session_scope(engine) as session:
            due = store.claim_due_jobs(session, self.interval_s, self.claim_due, owner=owner)
        report = PollReport()
        clients: dict[Target, JobsClient] = {}
        for row in due:
            target = job_target(row)
            try:
                client = clients.get(target) or clients.setdefault(target, client_for(target))
            except errors.BasetenError as exc:  # e.g. no API key: nothing can be polled
                report.problems.append(user_errors.describe(exc, context="jobs"))
                break
            if not self._poll_one(engine, client, row.request_id, owner, report):
                break
        return report

    def _poll_one(
        self, engine: Engine, client: JobsClient, rid: str, owner: str, report: PollReport
    ) -> bool:
        update: dict[str, Any]
        try:
            info = client.get_async_request(rid)
        except errors.RateLimitError as exc:
            self.bucket.pause(exc.retry_after or 2.0)
            report.rate_limited = True
            return False
        except errors.NotFoundError:
            update = {
                "status": "NOT_FOUND",
                "note": "Baseten has no status for this request "
                "(it keeps statuses for 1 hour after completion).",
            }
        except errors.BasetenError as exc:
            words = user_errors.describe(exc, context="jobs")
            report.problems.append(f"{rid}: {words}")
            update = {"note": f"Its status could not be checked: {words}"}
        else:
            update = {
                "status": _enum_text(info.status),
                "webhook_status": _enum_text(getattr(info, "webhook_status", None)),
                "note": errors_text(getattr(info, "errors", None)) or None,
            }
        report.polled.append(rid)
        with session_scope(engine) as session:
            store.update_job_status(session, rid, owner=owner, **update)
        return True


def _enum_text(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))

"""The indexing queue: a small pool of worker threads that takes files fairly across collections.

Each collection has its own first-in, first-out line. A free worker serves the collections in
turn (round-robin: the one served least recently goes first) and runs at most one file per
collection at a time, so a 3,000-page PDF in one collection never holds up a 40-byte file in
another, and files of one collection are indexed in the order they were added (one parsed
file and its vectors in memory per collection). The pool is small and bounded by the machine's cores (:func:`default_pool_size`):
parsing runs in its own capped process, and embedding spends its time in torch, which
releases the GIL and already uses every core.

A queued job can be canceled at once (it leaves its line); a running one is asked to stop
(:attr:`IngestJob.cancel_requested`), which the indexing code checks between pages and between
embedded batches. Jobs stay listed, with their outcome, until the page dismisses them.

Nothing here knows about files or Streamlit: a job's work is any callable that takes the job
(for its progress callback and its cancel flag) and returns a
:class:`~chatapp.services.documents.FileOutcome`.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from chatapp.services import user_errors
from chatapp.services.documents import FileOutcome, IndexingCanceled

Work = Callable[["IngestJob"], FileOutcome]
CANCELED_MESSAGE = "Canceled: nothing from this file was added."
RESUMED_NOTE = "resumed after a restart"
KEPT_NOTE = "kept from before a restart"


def default_pool_size() -> int:
    """Workers for this machine: its cores, at most 4, and at least 2.

    Two even on one core, so that a small file never waits behind a big one (the workers
    mostly wait on the parse process and on torch, which run outside the GIL).
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    return max(2, min(4, cores))


@dataclass
class IngestJob:
    """One queued file (or re-index) and its live progress."""

    id: int
    collection_id: str
    filename: str
    resumed: bool = False
    stage: str = "queued"
    fraction: float = 0.0
    detail: str = "Waiting for its turn"
    outcome: FileOutcome | None = None
    #: Shown next to the file name: "resumed after a restart", "kept from before a restart".
    note: str = ""
    #: Called when the job is canceled before it ran, or dismissed once done (tidies its files).
    cleanup: Callable[[], None] | None = field(default=None, repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def done(self) -> bool:
        return self.outcome is not None

    @property
    def running(self) -> bool:
        return not self.done and self.stage != "queued"

    def cancel_requested(self) -> bool:
        """True once someone asked to cancel this job (the running work checks it)."""
        return self._cancel.is_set()

    def update(self, stage: str, fraction: float, detail: str) -> None:
        """Progress callback; raises :class:`IndexingCanceled` once the job was canceled."""
        self.stage, self.fraction, self.detail = stage, fraction, detail
        if self._cancel.is_set() and stage != "done":
            raise IndexingCanceled(self.filename)


def canceled_outcome(job: IngestJob) -> FileOutcome:
    return FileOutcome(job.filename, "canceled", CANCELED_MESSAGE)


class IngestWorker:
    """A pool of daemon threads that run queued work fairly across collections."""

    def __init__(self, workers: int | None = None) -> None:
        self.size = workers or default_pool_size()
        self._lines: dict[str, deque[tuple[IngestJob, Work]]] = {}
        self._turns: list[str] = []  # collections with waiting work, in order of arrival
        self._last_served: dict[str, int] = {}  # collection -> when its last file started
        self._ticks = itertools.count()
        self._running: dict[str, IngestJob] = {}
        self._jobs: dict[int, IngestJob] = {}
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._threads: list[threading.Thread] = []
        self._resumed: set[str] = set()
        self._closed = False

    # --- submitting -------------------------------------------------------------------------

    def submit(self, collection_id: str, filename: str, work: Work, *, resumed: bool = False,
               cleanup: Callable[[], None] | None = None) -> IngestJob:
        """Queue ``work`` (called with its job) behind the collection's earlier files."""
        job = IngestJob(next(self._ids), collection_id, filename, resumed, cleanup=cleanup)
        if resumed:
            job.note = RESUMED_NOTE
            job.detail = f"Queued again: {RESUMED_NOTE}"
        with self._cond:
            self._jobs[job.id] = job
            self._lines.setdefault(collection_id, deque()).append((job, work))
            if collection_id not in self._turns:
                self._turns.append(collection_id)
            self._start_threads()
            self._cond.notify()
        return job

    def add_finished(self, collection_id: str, outcome: FileOutcome, *, resumed: bool = False,
                     cleanup: Callable[[], None] | None = None) -> IngestJob:
        """List an outcome decided without running (a failure kept from before a restart)."""
        job = IngestJob(next(self._ids), collection_id, outcome.filename, resumed,
                        stage="done", fraction=1.0, detail=outcome.message, outcome=outcome,
                        note=KEPT_NOTE if resumed else "", cleanup=cleanup)
        with self._cond:
            self._jobs[job.id] = job
        return job

    def claim_resume(self, collection_id: str) -> bool:
        """True the first time it is asked for a collection (resume its staged files then)."""
        with self._cond:
            first = collection_id not in self._resumed
            self._resumed.add(collection_id)
            return first

    # --- looking ----------------------------------------------------------------------------

    def jobs(self, collection_id: str) -> list[IngestJob]:
        """The collection's jobs, oldest first."""
        with self._cond:
            return [j for j in self._jobs.values() if j.collection_id == collection_id]

    def busy(self, collection_id: str | None = None) -> bool:
        """True while any (or this collection's) job is queued or running."""
        with self._cond:
            return any(not j.done and collection_id in (None, j.collection_id)
                       for j in self._jobs.values())

    def wait_for(self, job: IngestJob, timeout: float = 120.0) -> bool:
        """Block until ``job`` has finished; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not job.done:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
        return True

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """Block until every job has finished (for tests and scripts); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while any(not j.done for j in self._jobs.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
        return True

    # --- canceling and tidying --------------------------------------------------------------

    def cancel(self, job_id: int) -> bool:
        """Cancel a queued job at once, or ask a running one to stop; False if already done."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None or job.done:
                return False
            job._cancel.set()
            line = self._lines.get(job.collection_id, deque())
            queued = next(((j, w) for j, w in line if j is job), None)
            if queued is None:
                return True  # running: it stops at its next check
            line.remove(queued)
            self._drop_empty_line(job.collection_id)
            self._finish(job, canceled_outcome(job))
        self._tidy(job)
        return True

    def cancel_collection(self, collection_id: str, wait_s: float = 30.0) -> bool:
        """Cancel every job of a collection; True once none of them is running any more."""
        for job in self.jobs(collection_id):
            self.cancel(job.id)
        deadline = time.monotonic() + wait_s
        with self._cond:
            while collection_id in self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
        return True

    def dismiss(self, collection_id: str) -> None:
        """Forget the collection's finished jobs (and tidy what they kept on disk)."""
        with self._cond:
            finished = [j for j in self._jobs.values()
                        if j.done and j.collection_id == collection_id]
            for job in finished:
                del self._jobs[job.id]
        for job in finished:
            self._tidy(job)

    def close(self) -> None:
        """Stop after the running jobs; queued work is left undone (its staged files stay)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # --- the workers ------------------------------------------------------------------------

    def _start_threads(self) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        while len(self._threads) < self.size:
            thread = threading.Thread(target=self._serve, name=f"ingest-{len(self._threads)}",
                                      daemon=True)
            self._threads.append(thread)
            thread.start()

    def _take(self) -> tuple[IngestJob, Work] | None:
        """The first job of the collection served least recently (never: first), skipping
        collections that already have a file running."""
        waiting = [c for c in self._turns if c not in self._running]
        if not waiting:
            return None
        collection_id = min(waiting, key=lambda c: self._last_served.get(c, -1))
        job, work = self._lines[collection_id].popleft()
        self._last_served[collection_id] = next(self._ticks)
        self._drop_empty_line(collection_id)
        self._running[collection_id] = job
        job.update("start", 0.0, "Starting")
        return job, work

    def _drop_empty_line(self, collection_id: str) -> None:
        if not self._lines.get(collection_id):
            self._lines.pop(collection_id, None)
            if collection_id in self._turns:
                self._turns.remove(collection_id)

    def _serve(self) -> None:
        while True:
            with self._cond:
                taken = None if self._closed else self._take()
                while taken is None:
                    if self._closed:
                        return
                    self._cond.wait()
                    taken = None if self._closed else self._take()
            job, work = taken
            outcome = self._execute(job, work)
            with self._cond:
                self._running.pop(job.collection_id, None)
                self._finish(job, outcome)
                self._cond.notify_all()

    @staticmethod
    def _execute(job: IngestJob, work: Work) -> FileOutcome:
        try:
            return work(job)
        except IndexingCanceled:
            return canceled_outcome(job)
        except Exception as exc:  # noqa: BLE001 - a job must never kill its worker
            return FileOutcome(job.filename, "failed",
                               user_errors.describe(exc, context="indexing"))

    def _finish(self, job: IngestJob, outcome: FileOutcome) -> None:
        job.outcome = outcome
        job.stage, job.fraction, job.detail = "done", 1.0, outcome.message
        self._cond.notify_all()

    @staticmethod
    def _tidy(job: IngestJob) -> None:
        if job.cleanup is not None:
            job.cleanup()

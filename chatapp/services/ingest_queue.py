"""The indexing queue: uploads wait in the database, and every replica's worker pool takes them.

Each process runs one :class:`IngestWorker`: a few threads (:func:`default_pool_size`) that
claim queued files from the ``upload_queue`` table (:mod:`chatapp.storage.upload_queue`), one
at a time, fairly: the collection served least recently goes next, one file per collection
at a time across all replicas, so a 3,000-page PDF in one collection never holds up a 40-byte
file in another, and the files of a collection are indexed in the order they were added.
The claim is a row lock (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL) plus a lease:
while a file runs, a heartbeat thread renews its lease every :data:`HEARTBEAT_S` and records
its progress in the row, which is how every replica's page shows it. If the replica dies, the
lease runs out (:data:`LEASE_S`, ``BASETEN_CHAT_UPLOAD_LEASE_S``) and another replica's worker
takes the file over from the start (at most :data:`~chatapp.storage.upload_queue.MAX_ATTEMPTS`
starts, so a file that kills its server is not run forever).

A queued file can be canceled at once; a running one is asked to stop (the flag is in the row,
so a person on any replica can ask), which the indexing code checks between pages and between
embedded batches. Finished files stay listed with their outcome until the page dismisses them.

What a claimed row means (index a file, re-embed a collection) is
:mod:`chatapp.services.upload_worker`'s business; this module only queues, claims, beats and
records. On SQLite (one process) the claims of this process's threads are serialised by a lock.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError

from chatapp.services import user_errors
from chatapp.services.documents import FileOutcome, IndexingCanceled
from chatapp.storage import upload_queue as rows
from chatapp.storage.db import session_scope

if TYPE_CHECKING:
    from sqlalchemy import Engine

logger = logging.getLogger("chatapp.ingest")

CANCELED_MESSAGE = "Canceled: nothing from this file was added."
RESUMED_NOTE = "resumed after a restart"
TAKEN_OVER_NOTE = rows.TAKEN_OVER_NOTE
#: Seconds a claimed file stays with its worker without a heartbeat.
LEASE_S = 30.0
HEARTBEAT_S = 1.0
#: How often an idle worker looks for queued files another replica added.
IDLE_POLL_S = 2.0
_CLAIM_LOCK = threading.Lock()  # one claim at a time per process (SQLite has no row locks)


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


def lease_seconds() -> float:
    """The lease, from ``BASETEN_CHAT_UPLOAD_LEASE_S`` (tests shorten it), else :data:`LEASE_S`."""
    try:
        value = float(os.environ.get("BASETEN_CHAT_UPLOAD_LEASE_S") or LEASE_S)
    except ValueError:
        return LEASE_S
    return max(3 * HEARTBEAT_S, value)


@dataclass
class IngestJob:
    """A queued file as the page shows it (read from its row)."""

    id: int
    collection_id: str
    filename: str
    stage: str = "queued"
    fraction: float = 0.0
    detail: str = "Waiting for its turn"
    outcome: FileOutcome | None = None
    #: Shown next to the file name, e.g. "resumed after a server stopped".
    note: str = ""
    cancel_asked: bool = False

    @property
    def done(self) -> bool:
        return self.outcome is not None

    @property
    def running(self) -> bool:
        return not self.done and self.stage != "queued"

    def cancel_requested(self) -> bool:
        return self.cancel_asked


def job_of(row: rows.QueuedUpload) -> IngestJob:
    """The page's view of one row."""
    outcome = None
    if row.state == "done":
        outcome = FileOutcome(
            row.filename,
            row.status or "failed",
            row.message,
            row.sha256,
            row.pages,
            row.chunks,
            row.warning,
            row.seconds,
        )
    return IngestJob(
        row.id,
        row.collection_id,
        row.filename,
        row.stage,
        row.fraction,
        row.detail,
        outcome,
        row.note,
        row.cancel_requested,
    )


@dataclass
class Claimed:
    """A row this worker holds: what to do, and its live progress and cancel flag."""

    id: int
    attempt: int
    collection_id: str
    owner: str
    kind: str
    filename: str
    max_bytes: int
    payload: str | None
    stage: str = "start"
    fraction: float = 0.0
    detail: str = "Starting"
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    lost: bool = False

    def cancel_requested(self) -> bool:
        """True once someone asked to stop this file, or its lease was lost."""
        return self._cancel.is_set()

    def update(self, stage: str, fraction: float, detail: str) -> None:
        """Progress callback (recorded by the next heartbeat); raises once canceled."""
        self.stage, self.fraction, self.detail = stage, fraction, detail
        if self._cancel.is_set() and stage != "done":
            raise IndexingCanceled(self.filename)


Runner = Callable[["IngestWorker", Claimed], FileOutcome]


class IngestWorker:
    """This process's pool of queue workers over the database at ``engine``."""

    def __init__(
        self,
        engine: Engine,
        run: Runner,
        *,
        workers: int | None = None,
        lease_s: float | None = None,
        idle_poll_s: float = IDLE_POLL_S,
        heartbeat_s: float = HEARTBEAT_S,
        worker_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.size = workers or default_pool_size()
        self.lease_s = lease_s or lease_seconds()
        self.idle_poll_s = idle_poll_s
        self.heartbeat_s = heartbeat_s
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._run = run
        self._running: dict[int, Claimed] = {}
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closed = False
        #: API keys typed in a sidebar, by row id: they stay in this process, never in a row.
        self.session_keys: dict[int, str] = {}

    # --- submitting -------------------------------------------------------------------------

    def queue_files(
        self,
        collection_id: str,
        uploads: Iterable[tuple[str, bytes]],
        *,
        owner: str,
        max_bytes: int,
        api_key: str | None = None,
    ) -> list[int]:
        """Store each ``(file name, bytes)`` upload as a queued row; the row ids."""
        from chatapp.services.ingest import sha256_of

        ids = []
        for filename, data in uploads:
            with session_scope(self.engine) as session:
                row = rows.enqueue(
                    session,
                    collection_id=collection_id,
                    owner=owner,
                    filename=filename,
                    sha256=sha256_of(data),
                    size_bytes=len(data),
                    max_bytes=max_bytes,
                    content=data,
                )
                ids.append(row.id)
            if api_key:
                self.session_keys[row.id] = api_key
        self.wake()
        return ids

    def queue_task(
        self,
        collection_id: str,
        kind: str,
        label: str,
        payload: str,
        *,
        owner: str,
        api_key: str | None = None,
    ) -> int:
        """Queue work on a collection that is not a file (a re-index) behind its files."""
        with session_scope(self.engine) as session:
            row_id = rows.enqueue(
                session,
                collection_id=collection_id,
                owner=owner,
                kind=kind,
                filename=label,
                payload=payload,
            ).id
        if api_key:
            self.session_keys[row_id] = api_key
        self.wake()
        return row_id

    def wake(self) -> None:
        """Have an idle thread of this process look at the queue now (if it runs threads)."""
        with self._cond:
            if self._threads:
                self._start_threads()  # replace a thread that died
            self._cond.notify()

    # --- looking ----------------------------------------------------------------------------

    def jobs(self, collection_id: str) -> list[IngestJob]:
        """The collection's files, oldest first, as every replica sees them."""
        with session_scope(self.engine) as session:
            return [job_of(row) for row in rows.list_rows(session, collection_id)]

    def busy(self, collection_id: str | None = None) -> bool:
        """True while any (or this collection's) file is queued or running."""
        with session_scope(self.engine) as session:
            return rows.count_unfinished(session, collection_id) > 0

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """Block until no file is queued or running (tests and scripts); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.busy():
            if time.monotonic() > deadline:
                return False
            with self._cond:
                self._cond.wait(0.05)
        return True

    # --- canceling and tidying --------------------------------------------------------------

    def cancel(self, job_id: int) -> bool:
        """Cancel a queued file at once, or ask a running one to stop; False if already done."""
        with session_scope(self.engine) as session:
            result = rows.cancel(session, job_id, CANCELED_MESSAGE)
        with self._cond:
            running = self._running.get(job_id)
            if running is not None and result is not None:
                running._cancel.set()  # ours: stop at the next check, not the next heartbeat
            self._cond.notify_all()
        return result is not None

    def cancel_collection(self, collection_id: str, wait_s: float = 30.0) -> bool:
        """Cancel every file of a collection; True once none of them is running any more."""
        with session_scope(self.engine) as session:
            pending = rows.ids_of(session, collection_id, "queued", "running")
        for row_id in pending:
            self.cancel(row_id)
        deadline = time.monotonic() + wait_s
        while True:
            with session_scope(self.engine) as session:
                if not rows.running_in(session, collection_id):
                    return True
            if time.monotonic() > deadline:
                return False
            with self._cond:
                self._cond.wait(0.1)

    def dismiss(self, collection_id: str) -> None:
        """Forget the collection's finished files."""
        with session_scope(self.engine) as session:
            rows.dismiss(session, collection_id)

    def close(self) -> None:
        """Stop after the running files; queued ones stay for another worker."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # --- the workers ------------------------------------------------------------------------

    def _start_threads(self) -> None:
        if self._closed:
            return
        self._threads = [t for t in self._threads if t.is_alive()]
        if not self._threads:
            beat = threading.Thread(target=self._beat, name="ingest-heartbeat", daemon=True)
            self._threads.append(beat)
            beat.start()
        while len(self._threads) < self.size + 1:
            thread = threading.Thread(
                target=self._serve, name=f"ingest-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def start(self) -> IngestWorker:
        """Start the threads (a replica's pool runs from server start, to take over files)."""
        with self._cond:
            self._start_threads()
        return self

    def _claim(self) -> Claimed | None:
        with _CLAIM_LOCK, session_scope(self.engine) as session:
            if not rows.has_claimable(session):
                return None
            row, given_up = rows.claim_next(session, self.worker_id, self.lease_s)
            for failed in given_up:
                logger.warning("upload %s failed: its server stopped on every attempt", failed.id)
            if row is None:
                return None
            claimed = Claimed(
                row.id,
                row.attempts,
                row.collection_id,
                row.owner,
                row.kind,
                row.filename,
                row.max_bytes,
                row.payload,
            )
        with self._cond:
            self._running[claimed.id] = claimed
        return claimed

    def _serve(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
            try:
                claimed = self._claim()
            except OperationalError:  # the database is away for a moment: try again later
                logger.warning("upload queue: could not claim a file", exc_info=True)
                claimed = None
            if claimed is None:
                with self._cond:
                    if not self._closed:
                        self._cond.wait(self.idle_poll_s)
                continue
            outcome = self._execute(claimed)
            try:
                self._record(claimed, outcome)
            finally:
                with self._cond:
                    self._running.pop(claimed.id, None)
                    self.session_keys.pop(claimed.id, None)
                    self._cond.notify_all()

    def _execute(self, claimed: Claimed) -> FileOutcome:
        try:
            return self._run(self, claimed)
        except IndexingCanceled:
            return FileOutcome(claimed.filename, "canceled", CANCELED_MESSAGE)
        except Exception as exc:  # noqa: BLE001 - a file must never kill its worker
            return FileOutcome(
                claimed.filename, "failed", user_errors.describe(exc, context="indexing")
            )

    def _record(self, claimed: Claimed, outcome: FileOutcome) -> None:
        if claimed.lost:
            return  # another worker owns this file now; its outcome counts, not ours
        with session_scope(self.engine) as session:
            rows.finish(
                session,
                claimed.id,
                self.worker_id,
                claimed.attempt,
                status=outcome.status,
                message=outcome.message,
                sha256=outcome.sha256 or "",
                pages=outcome.pages,
                chunks=outcome.chunks,
                warning=outcome.warning,
                seconds=outcome.seconds,
            )

    def _beat(self) -> None:
        """Renew the leases of this process's files and record their progress."""
        while True:
            with self._cond:
                if self._closed and not self._running:
                    return
                held = list(self._running.values())
            for claimed in held:
                self._renew(claimed)
            with self._cond:
                self._cond.wait(self.heartbeat_s)

    def _renew(self, claimed: Claimed) -> None:
        try:
            with session_scope(self.engine) as session:
                asked = rows.renew(
                    session,
                    claimed.id,
                    self.worker_id,
                    claimed.attempt,
                    self.lease_s,
                    stage=claimed.stage,
                    fraction=claimed.fraction,
                    detail=claimed.detail,
                )
        except OperationalError:
            logger.warning("upload queue: could not renew a lease", exc_info=True)
            return
        if asked is None:
            claimed.lost = True
        if asked is None or asked:
            claimed._cancel.set()

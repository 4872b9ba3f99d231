"""The queue of uploads waiting to be indexed: one row per file, its bytes in the row.

Every replica of the app reads the same rows, so any of them can index any upload. A row is
``queued`` until a worker claims it, ``running`` while one holds its lease, ``done`` with an
outcome (``indexed``, ``skipped``, ``failed``, ``canceled``) until a person dismisses it. The
bytes are dropped (``content`` set to NULL) as soon as the row is done.

Claiming (:func:`claim_next`) takes the oldest queued file of the collection served least
recently that has no file running, in one transaction: the collection's row is locked with
``FOR UPDATE SKIP LOCKED`` (so two replicas never start two files of one collection, and a
collection keeps its files' order), then the file's row, also ``FOR UPDATE SKIP LOCKED``, is
set to ``running`` with ``claimed_by`` and ``lease_until``. The worker renews the lease while
it works (:func:`renew`); a ``running`` row whose lease has run out belongs to a replica that
died, and the next claim takes it over, up to :data:`MAX_ATTEMPTS` starts in all. Finishing
(:func:`finish`) only counts for the holder of the current lease.

On SQLite (one process) ``FOR UPDATE SKIP LOCKED`` is left out of the SQL by SQLAlchemy; the
caller serialises its own claims (:class:`chatapp.services.ingest_queue.IngestWorker` does).
Times are the database's clock on PostgreSQL (:func:`db_now`), so replicas need not agree on
theirs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    and_,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, aliased, defer, mapped_column

from chatapp.storage.conversations import OWNER_LENGTH
from chatapp.storage.db import Base, rows_changed
from chatapp.storage.documents import Collection
from chatapp.users import LOCAL_OWNER

#: A file is started at most this many times (a second start only after its worker died).
MAX_ATTEMPTS = 2


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class QueuedUpload(Base):
    """One uploaded file (or a re-index) waiting, running or done."""

    __tablename__ = "upload_queue"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[str] = mapped_column(
        ForeignKey("doc_collections.id", ondelete="CASCADE"), index=True
    )
    #: Who queued it (a user id, see :mod:`chatapp.users`); the work runs as them.
    owner: Mapped[str] = mapped_column(String(OWNER_LENGTH), default=LOCAL_OWNER)
    kind: Mapped[str] = mapped_column(String(16), default="file")  # "file" | "reembed"
    filename: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    max_bytes: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: A re-index: the new embedding model, as ``kind:model``.
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    stage: Mapped[str] = mapped_column(String(16), default="queued")
    fraction: Mapped[float] = mapped_column(Float, default=0.0)
    detail: Mapped[str] = mapped_column(Text, default="Waiting for its turn")
    status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    pages: Mapped[int] = mapped_column(Integer, default=0)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    warning: Mapped[str | None] = mapped_column(Text, nullable=True)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


def db_now(session: Session) -> datetime:
    """The database's clock on PostgreSQL (one clock for every replica), else this process's."""
    if session.get_bind().dialect.name == "postgresql":
        value = session.scalar(select(func.now()))
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return utcnow()


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


# --- adding -----------------------------------------------------------------------------------


def enqueue(session: Session, **fields: Any) -> QueuedUpload:
    """Insert a queued row and return it (with its id)."""
    row = QueuedUpload(**fields)
    session.add(row)
    session.flush()
    return row


# --- claiming ---------------------------------------------------------------------------------


def _claimable(now: datetime) -> Any:
    q = QueuedUpload
    return or_(q.state == "queued", and_(q.state == "running", q.lease_until < now))


def _live_running(collection_id: Any, now: datetime, other: Any = None) -> Any:
    r = aliased(QueuedUpload)
    condition = and_(r.collection_id == collection_id, r.state == "running", r.lease_until >= now)
    if other is not None:
        condition = and_(condition, r.id != other)
    return exists().where(condition)


def has_claimable(session: Session, now: datetime | None = None) -> bool:
    """True when some row could be claimed now (a cheap look before a claim)."""
    now = now or db_now(session)
    return session.scalar(select(exists().where(_claimable(now)))) or False


def _collections_in_turn(session: Session, now: datetime) -> list[str]:
    """Collections with a claimable file and none running, served least recently first."""
    q = QueuedUpload
    waiting = (
        select(q.collection_id)
        .where(_claimable(now), ~_live_running(q.collection_id, now, q.id))
        .distinct()
    )
    ids = list(session.scalars(waiting))
    if not ids:
        return []
    served = dict(
        session.execute(
            select(q.collection_id, func.max(q.started_at))
            .where(q.collection_id.in_(ids))
            .group_by(q.collection_id)
        ).all()
    )
    first = datetime.min.replace(tzinfo=timezone.utc)
    oldest = dict(
        session.execute(
            select(q.collection_id, func.min(q.id))
            .where(q.collection_id.in_(ids), _claimable(now))
            .group_by(q.collection_id)
        ).all()
    )
    return sorted(ids, key=lambda c: (_aware(served.get(c)) or first, oldest.get(c, 0)))


def claim_next(
    session: Session, worker_id: str, lease_s: float, now: datetime | None = None
) -> tuple[QueuedUpload | None, list[QueuedUpload]]:
    """Claim the next file fairly; also fail the files that already used every attempt.

    Returns ``(claimed row or None, rows failed now)``. The caller commits.
    """
    now = now or db_now(session)
    q = QueuedUpload
    given_up: list[QueuedUpload] = []
    for collection_id in _collections_in_turn(session, now):
        locked = session.scalar(
            select(Collection.id)
            .where(Collection.id == collection_id)
            .with_for_update(skip_locked=True)
        )
        if locked is None:  # another replica is claiming in this collection right now
            continue
        while True:
            if session.scalar(select(_live_running(collection_id, now))):
                break  # a file of this collection started meanwhile
            row = session.scalars(
                select(q)
                .where(q.collection_id == collection_id, _claimable(now))
                .order_by(q.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                break
            if row.state == "running" and row.attempts >= MAX_ATTEMPTS:
                _close(row, now, "failed", interrupted_message(row.filename))
                given_up.append(row)
                continue
            if row.state == "running":
                row.note = TAKEN_OVER_NOTE
            row.state, row.claimed_by, row.attempts = "running", worker_id, row.attempts + 1
            row.lease_until = now + timedelta(seconds=lease_s)
            row.started_at = now
            row.stage, row.fraction, row.detail = "start", 0.0, "Starting"
            session.flush()
            return row, given_up
    return None, given_up


TAKEN_OVER_NOTE = "resumed after a server stopped"


def interrupted_message(filename: str) -> str:
    """What a file says when the servers indexing it stopped every time it was tried."""
    return (
        f"{filename}: the server stopped while this file was being indexed, twice (the "
        "file may be what stopped it), so it was not tried again. Upload it again to retry."
    )


# --- while running ----------------------------------------------------------------------------


def renew(
    session: Session,
    row_id: int,
    worker_id: str,
    attempt: int,
    lease_s: float,
    *,
    stage: str,
    fraction: float,
    detail: str,
) -> bool | None:
    """Extend the lease and record progress; returns whether a cancel was asked for, or None
    when this worker no longer holds the row (its lease ran out and another took it, or it
    was deleted with its collection)."""
    now = db_now(session)
    q = QueuedUpload
    held = and_(
        q.id == row_id, q.claimed_by == worker_id, q.attempts == attempt, q.state == "running"
    )
    changed = rows_changed(
        session,
        update(q)
        .where(held)
        .values(
            lease_until=now + timedelta(seconds=lease_s),
            stage=stage,
            fraction=fraction,
            detail=detail[:2000],
        )
        .execution_options(synchronize_session=False),
    )
    if changed != 1:
        return None
    return bool(session.scalar(select(q.cancel_requested).where(q.id == row_id)))


def load_content(session: Session, row_id: int) -> bytes | None:
    """A row's bytes (None once done)."""
    return session.scalar(select(QueuedUpload.content).where(QueuedUpload.id == row_id))


def _close(row: QueuedUpload, now: datetime, status: str, message: str) -> None:
    row.state, row.status, row.message = "done", status, message
    row.stage, row.fraction, row.detail = "done", 1.0, message
    row.content, row.lease_until, row.finished_at = None, None, now


def finish(session: Session, row_id: int, worker_id: str, attempt: int, **outcome: Any) -> bool:
    """Record a file's outcome if this worker still holds it; True when recorded."""
    q = QueuedUpload
    now = db_now(session)
    message = str(outcome.get("message", ""))
    changed = rows_changed(
        session,
        update(q)
        .where(
            q.id == row_id, q.claimed_by == worker_id, q.attempts == attempt, q.state == "running"
        )
        .values(
            state="done",
            stage="done",
            fraction=1.0,
            detail=message,
            content=None,
            lease_until=None,
            finished_at=now,
            **outcome,
        )
        .execution_options(synchronize_session=False),
    )
    return changed == 1


# --- the page ---------------------------------------------------------------------------------


def list_rows(session: Session, collection_id: str) -> list[QueuedUpload]:
    """A collection's rows, oldest first, without their bytes."""
    q = QueuedUpload
    return list(
        session.scalars(
            select(q)
            .options(defer(q.content))
            .where(q.collection_id == collection_id)
            .order_by(q.id)
        )
    )


def count_unfinished(session: Session, collection_id: str | None = None) -> int:
    """Rows queued or running (in one collection, or in all)."""
    q = QueuedUpload
    query = select(func.count()).select_from(q).where(q.state != "done")
    if collection_id is not None:
        query = query.where(q.collection_id == collection_id)
    return session.scalar(query) or 0


def cancel(session: Session, row_id: int, message: str) -> str | None:
    """Cancel a queued row at once (``"canceled"``) or ask a running one to stop
    (``"asked"``); None when it is already done or gone."""
    q = QueuedUpload
    now = db_now(session)
    done = rows_changed(
        session,
        update(q)
        .where(q.id == row_id, q.state == "queued")
        .values(
            state="done",
            status="canceled",
            message=message,
            stage="done",
            fraction=1.0,
            detail=message,
            content=None,
            finished_at=now,
        )
        .execution_options(synchronize_session=False),
    )
    if done:
        return "canceled"
    asked = rows_changed(
        session,
        update(q)
        .where(q.id == row_id, q.state == "running")
        .values(cancel_requested=True)
        .execution_options(synchronize_session=False),
    )
    return "asked" if asked else None


def running_in(session: Session, collection_id: str) -> int:
    """Rows of the collection a live worker is running."""
    q = QueuedUpload
    now = db_now(session)
    return (
        session.scalar(
            select(func.count())
            .select_from(q)
            .where(q.collection_id == collection_id, q.state == "running", q.lease_until >= now)
        )
        or 0
    )


def ids_of(session: Session, collection_id: str, *states: str) -> list[int]:
    """Ids of a collection's rows in ``states``."""
    q = QueuedUpload
    return list(
        session.scalars(
            select(q.id).where(q.collection_id == collection_id, q.state.in_(states)).order_by(q.id)
        )
    )


def dismiss(session: Session, collection_id: str) -> None:
    """Forget a collection's finished rows."""
    q = QueuedUpload
    session.execute(
        delete(q)
        .where(q.collection_id == collection_id, q.state == "done")
        .execution_options(synchronize_session=False)
    )


def delete_for_collection(session: Session, collection_id: str) -> None:
    """Delete every row of a collection (when it is deleted)."""
    session.execute(
        delete(QueuedUpload)
        .where(QueuedUpload.collection_id == collection_id)
        .execution_options(synchronize_session=False)
    )

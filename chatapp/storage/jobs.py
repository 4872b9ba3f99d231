"""Tables and repository for async inference jobs and the webhook results Baseten delivers.

Two tables, written by two different callers:

* ``jobs``: one row per request this app submitted successfully (a failed submission creates
  no row; the page reports the error instead). The status columns are refreshed by polling.
* ``webhook_results``: one row per request id whose result reached the webhook receiver,
  whether or not this app submitted it. ``request_id`` is unique, and
  :func:`store_webhook_result` inserts with ``ON CONFLICT DO NOTHING`` so a second delivery
  changes nothing. The raw body is kept verbatim: Baseten keeps no copy of the output.

The two are joined on ``request_id`` only when read; the receiver never changes ``jobs``, so a
delivery cannot race with a poll. The API key and webhook secrets are never columns.

Both carry an ``owner`` (a user id, see :mod:`chatapp.users`): a job its submitter's, a result
its job's, looked up by request id when it is stored (:data:`~chatapp.users.NO_OWNER` when no
job here has that id: such a result is shown to no signed-in user). A result that arrives
before its job's row is written is given to the job's owner when that row is added; reads
also match results to the reader's jobs by request id, so neither order loses one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Integer, String, Text, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, defer, mapped_column

from chatapp.storage.conversations import OWNER_LENGTH
from chatapp.storage.db import Base
from chatapp.users import LOCAL_OWNER, NO_OWNER

if TYPE_CHECKING:
    from chatapp.services.job_results import ResultSummary

#: Baseten statuses after which a request never changes again.
TERMINAL_STATUSES = frozenset(
    {"SUCCEEDED", "FAILED", "EXPIRED", "CANCELED", "WEBHOOK_FAILED", "NOT_FOUND"}
)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class Job(Base):
    """A request this app submitted to a dedicated deployment's ``async_predict``."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(OWNER_LENGTH), index=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    target_label: Mapped[str] = mapped_column(String(300))
    target_json: Mapped[str] = mapped_column(Text)
    model_input_json: Mapped[str] = mapped_column(Text)
    webhook_endpoint: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    max_time_in_queue_s: Mapped[int] = mapped_column(Integer, default=600)
    retry_config_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    batch_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    status: Mapped[str] = mapped_column(String(32), default="QUEUED")
    webhook_status: Mapped[str] = mapped_column(String(32), default="PENDING")
    status_checked_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    status_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class WebhookResult(Base):
    """A webhook delivery that passed verification, stored before the receiver answered."""

    __tablename__ = "webhook_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The job's owner; :data:`~chatapp.users.NO_OWNER` for a request no job here has.
    owner: Mapped[str] = mapped_column(String(OWNER_LENGTH), index=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    model_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    deployment_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    sent_time: Mapped[str | None] = mapped_column(String(64), nullable=True)
    data_json: Mapped[str] = mapped_column(Text)
    errors_json: Mapped[str] = mapped_column(Text, default="[]")
    signed: Mapped[int] = mapped_column(Integer, default=1)
    raw_body: Mapped[str] = mapped_column(Text)

    @property
    def data(self) -> Any:
        """The model output as delivered (object, string or None)."""
        return json.loads(self.data_json)

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Baseten's ``errors`` list (empty on success)."""
        return json.loads(self.errors_json)


@dataclass(frozen=True)
class JobRow:
    """A job and its result (either may be missing), as the page lists them. The result is
    the stored row or its summary (:class:`chatapp.services.job_results.ResultSummary`)."""

    request_id: str
    job: Job | None
    result: WebhookResult | ResultSummary | None

    @property
    def status(self) -> str:
        """Baseten's status, or what the delivered result implies when polling lagged."""
        if self.job is not None and self.job.status in TERMINAL_STATUSES:
            return self.job.status
        if self.result is not None:
            return "FAILED" if self.result.errors else "SUCCEEDED"
        return self.job.status if self.job is not None else "UNKNOWN"

    @property
    def webhook_status(self) -> str:
        """``SUCCEEDED`` once the result is stored here, else Baseten's last word."""
        if self.result is not None:
            return "SUCCEEDED"
        return self.job.webhook_status if self.job is not None else "UNKNOWN"

    @property
    def is_unfinished(self) -> bool:
        """True while polling can still tell us something new."""
        return (
            self.job is not None
            and self.result is None
            and (self.job.status not in TERMINAL_STATUSES)
        )


# --- jobs ------------------------------------------------------------------------------


def add_job(session: Session, **fields: Any) -> Job:
    """Insert a submitted job (``owner``, ``request_id`` and the submission fields) and return
    it. A result that arrived before this row (a fast job) becomes the job owner's."""
    job = Job(**fields)
    session.add(job)
    session.flush()
    session.execute(
        update(WebhookResult)
        .where(WebhookResult.request_id == job.request_id, WebhookResult.owner == NO_OWNER)
        .values(owner=job.owner)
    )
    return job


def get_job(session: Session, request_id: str, owner: str) -> Job | None:
    """``owner``'s job with ``request_id``; None when no job of theirs has it."""
    return session.scalar(select(Job).where(Job.request_id == request_id, Job.owner == owner))


def update_job_status(
    session: Session,
    request_id: str,
    *,
    owner: str,
    status: str | None = None,
    webhook_status: str | None = None,
    note: str | None = None,
    checked_at: datetime | None = None,
) -> None:
    """Record what polling (or a cancel) learned about one of ``owner``'s jobs."""
    job = get_job(session, request_id, owner)
    if job is None:
        return
    if status:
        job.status = status
    if webhook_status:
        job.webhook_status = webhook_status
    job.status_note = note
    job.status_checked_at = checked_at or utcnow()


# --- webhook results ---------------------------------------------------------------------


def store_webhook_result(
    session: Session,
    *,
    request_id: str,
    raw_body: str,
    data: Any,
    errors: Any,
    model_id: str | None = None,
    deployment_id: str | None = None,
    sent_time: str | None = None,
    signed: bool = True,
) -> bool:
    """Insert a delivered result unless one exists for ``request_id``; True when inserted.

    It is stored with the owner of the job that has ``request_id`` (nobody's when none has)."""
    owner = session.scalar(select(Job.owner).where(Job.request_id == request_id))
    values = {
        "owner": owner if owner is not None else NO_OWNER,
        "request_id": request_id,
        "received_at": utcnow(),
        "model_id": model_id,
        "deployment_id": deployment_id,
        "sent_time": sent_time,
        "data_json": json.dumps(data),
        "errors_json": json.dumps(errors if errors is not None else []),
        "signed": 1 if signed else 0,
        "raw_body": raw_body,
    }
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        return _insert_ignoring_duplicate(session, dialect, values)
    try:
        with session.begin_nested():
            session.add(WebhookResult(**values))
        return True
    except IntegrityError:
        return False


def _insert_ignoring_duplicate(session: Session, dialect: str, values: dict[str, Any]) -> bool:
    from sqlalchemy.dialects import postgresql, sqlite

    # both dialects spell "skip a duplicate" the same way on their own Insert
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    statement = insert(WebhookResult).values(**values)
    statement = statement.on_conflict_do_nothing(index_elements=["request_id"])
    # RETURNING says whether a row went in: an ORM session reports no rowcount on PostgreSQL
    return session.execute(statement.returning(WebhookResult.id)).first() is not None


def visible_to(owner: str) -> Any:
    """Which results ``owner`` may see: those stored as theirs or answering one of their
    jobs; without sign-in (:data:`~chatapp.users.LOCAL_OWNER`) also those nobody here
    submitted, as the single-user app always listed them."""
    mine = or_(
        WebhookResult.owner == owner,
        WebhookResult.request_id.in_(select(Job.request_id).where(Job.owner == owner)),
    )
    return or_(mine, WebhookResult.owner == NO_OWNER) if owner == LOCAL_OWNER else mine


def result_visible(owner: str, result_owner: str, request_id: str, job_ids: set[str]) -> bool:
    """:func:`visible_to` for a result already read (``job_ids``: the request ids of
    ``owner``'s jobs)."""
    return (
        result_owner == owner
        or request_id in job_ids
        or (owner == LOCAL_OWNER and result_owner == NO_OWNER)
    )


def get_result(session: Session, request_id: str, owner: str) -> WebhookResult | None:
    """The stored result for ``request_id`` if its webhook arrived and ``owner`` may see it."""
    query = select(WebhookResult).where(WebhookResult.request_id == request_id, visible_to(owner))
    return session.scalar(query)


def count_results(session: Session, owner: str) -> int:
    """How many results ``owner`` may see."""
    query = select(func.count()).select_from(WebhookResult).where(visible_to(owner))
    return session.scalar(query) or 0


# --- reading little at a time ------------------------------------------------------------

#: Rows read per round trip while iterating over large results.
_BATCH = 8


def list_jobs(session: Session, owner: str) -> list[Job]:
    """``owner``'s jobs, without their model input (the large column)."""
    query = select(Job).options(defer(Job.model_input_json)).where(Job.owner == owner)
    return list(session.scalars(query))


def list_unfinished_jobs(session: Session, owner: str | None) -> list[Job]:
    """Jobs whose status can still change: not terminal and no result stored yet; ``owner``'s
    (None: everyone's, for work done on behalf of every user)."""
    has_result = exists().where(WebhookResult.request_id == Job.request_id)
    query = (
        select(Job)
        .options(defer(Job.model_input_json))
        .where(Job.status.not_in(TERMINAL_STATUSES), ~has_result)
    )
    if owner is not None:
        query = query.where(Job.owner == owner)
    return list(session.scalars(query))


def claim_due_jobs(
    session: Session,
    interval_s: float,
    pick: Callable[[list[JobRow]], list[JobRow]],
    now: datetime | None = None,
    limit: int = 50,
    *,
    owner: str | None,
) -> list[JobRow]:
    """Claim unfinished jobs (``owner``'s; None: everyone's) whose status nobody asked for
    within ``interval_s``.

    The candidates are locked with ``FOR UPDATE SKIP LOCKED`` (on PostgreSQL; another replica
    claiming at the same moment skips them), ``pick`` chooses which to ask about now (the
    caller's rate limit), and those get ``status_checked_at = now``: the lease that keeps every
    other replica from asking about them again for ``interval_s``. The caller commits.
    """
    from chatapp.storage.upload_queue import db_now

    now = now or db_now(session)
    has_result = exists().where(WebhookResult.request_id == Job.request_id)
    checked = Job.status_checked_at
    query = (
        select(Job)
        .options(defer(Job.model_input_json))
        .where(
            Job.status.not_in(TERMINAL_STATUSES),
            ~has_result,
            or_(checked.is_(None), checked <= now - timedelta(seconds=interval_s)),
        )
        .order_by(checked.is_not(None), checked, Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if owner is not None:
        query = query.where(Job.owner == owner)
    candidates = [JobRow(job.request_id, job, None) for job in session.scalars(query)]
    chosen = pick(candidates)
    for row in chosen:
        row.job.status_checked_at = now  # type: ignore[union-attr]
    session.flush()
    return chosen


def results_after(session: Session, last_id: int) -> Iterator[WebhookResult]:
    """Results stored after the one with id ``last_id``, oldest first, a few at a time; every
    owner's (for the process's summary cache, which readers filter by owner)."""
    query = select(WebhookResult).where(WebhookResult.id > last_id).order_by(WebhookResult.id)
    yield from session.scalars(query.execution_options(yield_per=_BATCH))


def results_not_in(session: Session, known_ids: set[int]) -> Iterator[WebhookResult]:
    """Results (every owner's) whose id is not in ``known_ids``: ids first, then those rows."""
    missing = sorted(set(session.scalars(select(WebhookResult.id))) - known_ids)
    for start in range(0, len(missing), 500):
        query = select(WebhookResult).where(WebhookResult.id.in_(missing[start : start + 500]))
        yield from session.scalars(query.order_by(WebhookResult.id))


def count_every_result(session: Session) -> int:
    """How many results are stored, every owner's."""
    return session.scalar(select(func.count()).select_from(WebhookResult)) or 0


def iter_results(session: Session, owner: str) -> Iterator[WebhookResult]:
    """The results ``owner`` may see, newest first, a few at a time."""
    query = select(WebhookResult).where(visible_to(owner)).order_by(WebhookResult.id.desc())
    yield from session.scalars(query.execution_options(yield_per=_BATCH))


def raw_body_start(session: Session, result_id: int, chars: int, owner: str) -> str:
    """The first ``chars`` characters of a stored body ``owner`` may see, cut by the database."""
    query = select(func.substr(WebhookResult.raw_body, 1, chars)).where(
        WebhookResult.id == result_id, visible_to(owner)
    )
    return session.scalar(query) or ""


# --- listing -----------------------------------------------------------------------------


def list_job_rows(session: Session, owner: str) -> list[JobRow]:
    """``owner``'s jobs and the results they may see, newest first."""
    jobs = {job.request_id: job for job in session.scalars(select(Job).where(Job.owner == owner))}
    results = {
        r.request_id: r for r in session.scalars(select(WebhookResult).where(visible_to(owner)))
    }
    rows = [JobRow(rid, jobs.get(rid), results.get(rid)) for rid in jobs.keys() | results.keys()]
    rows.sort(key=row_time, reverse=True)
    return rows


def row_time(row: JobRow) -> datetime:
    """When a row happened: submitted here, else received."""
    when = row.job.submitted_at if row.job is not None else row.result.received_at  # type: ignore[union-attr]
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)

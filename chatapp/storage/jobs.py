"""Tables and repository for async inference jobs and the webhook results Baseten delivers.

Two tables, written by two different callers:

* ``jobs``: one row per request this app submitted successfully (a failed submission creates
  no row; the page reports the error instead). The status columns are refreshed by polling.
* ``webhook_results``: one row per request id whose result reached the webhook receiver,
  whether or not this app submitted it. ``request_id`` is unique, and
  :func:`store_webhook_result` inserts with ``ON CONFLICT DO NOTHING`` so a second delivery
  changes nothing. The raw body is kept verbatim: Baseten keeps no copy of the output.

The two are joined on ``request_id`` only when read; the receiver never touches ``jobs``, so a
delivery cannot race with a poll. The API key and webhook secrets are never columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Integer, String, Text, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, defer, mapped_column

from chatapp.storage.db import Base

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
        return self.job is not None and self.result is None and (
            self.job.status not in TERMINAL_STATUSES
        )


# --- jobs ------------------------------------------------------------------------------


def add_job(session: Session, **fields: Any) -> Job:
    """Insert a submitted job (``request_id`` and the submission fields) and return it."""
    job = Job(**fields)
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, request_id: str) -> Job | None:
    """The job with ``request_id``, if this app submitted it."""
    return session.scalar(select(Job).where(Job.request_id == request_id))


def update_job_status(
    session: Session,
    request_id: str,
    *,
    status: str | None = None,
    webhook_status: str | None = None,
    note: str | None = None,
    checked_at: datetime | None = None,
) -> None:
    """Record what polling (or a cancel) learned about a job."""
    job = get_job(session, request_id)
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
    """Insert a delivered result unless one exists for ``request_id``; True when inserted."""
    values = {
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
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    statement = insert(WebhookResult).values(**values)
    statement = statement.on_conflict_do_nothing(index_elements=["request_id"])
    return session.execute(statement).rowcount == 1


def get_result(session: Session, request_id: str) -> WebhookResult | None:
    """The stored result for ``request_id``, if its webhook arrived."""
    return session.scalar(select(WebhookResult).where(WebhookResult.request_id == request_id))


def count_results(session: Session) -> int:
    """How many results are stored."""
    return session.scalar(select(func.count()).select_from(WebhookResult)) or 0


# --- reading little at a time ------------------------------------------------------------

#: Rows read per round trip while iterating over large results.
_BATCH = 8


def list_jobs(session: Session) -> list[Job]:
    """Every job, without its model input (the large column)."""
    return list(session.scalars(select(Job).options(defer(Job.model_input_json))))


def list_unfinished_jobs(session: Session) -> list[Job]:
    """Jobs whose status can still change: not terminal and no result stored yet."""
    has_result = exists().where(WebhookResult.request_id == Job.request_id)
    query = (select(Job).options(defer(Job.model_input_json))
             .where(Job.status.not_in(TERMINAL_STATUSES), ~has_result))
    return list(session.scalars(query))


def results_after(session: Session, last_id: int) -> Iterator[WebhookResult]:
    """Results stored after the one with id ``last_id``, oldest first, a few at a time."""
    query = select(WebhookResult).where(WebhookResult.id > last_id).order_by(WebhookResult.id)
    yield from session.scalars(query.execution_options(yield_per=_BATCH))


def iter_results(session: Session) -> Iterator[WebhookResult]:
    """Every result, newest first, a few at a time."""
    query = select(WebhookResult).order_by(WebhookResult.id.desc())
    yield from session.scalars(query.execution_options(yield_per=_BATCH))


def raw_body_start(session: Session, result_id: int, chars: int) -> str:
    """The first ``chars`` characters of a stored body, cut by the database."""
    query = select(func.substr(WebhookResult.raw_body, 1, chars)).where(
        WebhookResult.id == result_id)
    return session.scalar(query) or ""


# --- listing -----------------------------------------------------------------------------


def list_job_rows(session: Session) -> list[JobRow]:
    """Every job and every stored result, newest first; results nobody here submitted too."""
    jobs = {job.request_id: job for job in session.scalars(select(Job))}
    results = {r.request_id: r for r in session.scalars(select(WebhookResult))}
    rows = [JobRow(rid, jobs.get(rid), results.get(rid)) for rid in jobs.keys() | results.keys()]
    rows.sort(key=row_time, reverse=True)
    return rows


def row_time(row: JobRow) -> datetime:
    """When a row happened: submitted here, else received."""
    when = row.job.submitted_at if row.job is not None else row.result.received_at  # type: ignore[union-attr]
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)

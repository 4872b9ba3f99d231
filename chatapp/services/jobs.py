"""Async inference jobs: submit one or a batch, cancel, preview and export results.

A submission that Baseten refuses raises the client's error and stores nothing (no phantom
row); a batch reports each bad row (row number and reason) and carries on. Status polling, at a
pace Baseten's rate limit allows, lives in :mod:`chatapp.services.job_polling`.

Jobs belong to the user who submitted them: every function takes the current user's id as
``owner``, and another user's request id behaves exactly like one this app never submitted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlparse

from sqlalchemy import Engine

from baseten_llm import errors
from baseten_llm.jobs import build_async_body
from chatapp.services import job_results, user_errors
from chatapp.services.batch_inputs import BatchRow, InputError, check_sendable
from chatapp.services.webhook_receiver import recent_refusal
from chatapp.storage import jobs as store
from chatapp.storage.db import session_scope
from chatapp.targets import Target

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class JobsClient(Protocol):
    """The part of :class:`baseten_llm.Baseten` that jobs use."""

    def submit_async_request(self, model_input: dict[str, Any], **kwargs: Any) -> str: ...

    def get_async_request(self, request_id: str) -> Any: ...

    def cancel_async_request(self, request_id: str) -> Any: ...


ClientFactory = Callable[[Target], JobsClient]


@dataclass(frozen=True)
class SubmitOptions:
    """Everything about a submission except the model input; :meth:`validate` checks ranges."""

    webhook_endpoint: str
    priority: int = 0
    max_time_in_queue_s: int = 600
    max_attempts: int = 3
    initial_delay_ms: int = 1000
    max_delay_ms: int = 5000

    def validate(self) -> None:
        """Raise :class:`InputError` with a fix-it message for any value Baseten rejects."""
        check_webhook_url(self.webhook_endpoint)
        _check_range("Priority", self.priority, 0, 2)
        _check_range("Max time in queue (s)", self.max_time_in_queue_s, 10, 259_200)
        _check_range("Max attempts", self.max_attempts, 1, 10)
        _check_range("Initial retry delay (ms)", self.initial_delay_ms, 0, 10_000)
        _check_range("Max retry delay (ms)", self.max_delay_ms, 0, 60_000)

    def retry_config(self) -> dict[str, int]:
        """Baseten's ``inference_retry_config``."""
        return {
            "max_attempts": self.max_attempts,
            "initial_delay_ms": self.initial_delay_ms,
            "max_delay_ms": self.max_delay_ms,
        }

    def request_body(self, model_input: dict[str, Any]) -> dict[str, Any]:
        """The JSON body the client will send to ``async_predict`` (built by the client's own
        function, so what is shown is what is sent; Baseten's defaults are left implicit)."""
        return build_async_body(
            model_input,
            webhook_endpoint=self.webhook_endpoint or None,
            priority=self.priority,
            max_time_in_queue_seconds=self.max_time_in_queue_s,
            inference_retry_config=self.retry_config(),
        )


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= int(value) <= high:
        raise InputError(f"{name} must be between {low} and {high}; it is {value}.")


def check_webhook_url(url: str) -> None:
    """Baseten needs an absolute HTTPS URL (plain HTTP only for a loopback host)."""
    parsed = urlparse((url or "").strip())
    if not url or not url.strip():
        raise InputError(
            "A webhook URL is required: Baseten keeps no copy of the result, so without one "
            "it is lost. Set BASETEN_CHAT_PUBLIC_URL or type the URL."
        )
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InputError(f"The webhook URL must start with https:// and name a host: {url!r}.")
    if parsed.scheme == "http" and parsed.hostname not in LOOPBACK_HOSTS:
        raise InputError(
            "Baseten delivers webhooks over HTTPS only: use the https:// URL of your tunnel "
            "(plain http:// is accepted for localhost only)."
        )


# --- submission ---------------------------------------------------------------------------


def submit_job(
    engine: Engine,
    client: JobsClient,
    target: Target,
    model_input: dict[str, Any],
    options: SubmitOptions,
    *,
    owner: str,
    batch_name: str | None = None,
) -> str:
    """Submit one job and record it as ``owner``'s; returns the request id. Client errors
    propagate."""
    options.validate()
    check_sendable(model_input)
    request_id = client.submit_async_request(
        model_input,
        webhook_endpoint=options.webhook_endpoint,
        priority=options.priority,
        max_time_in_queue_seconds=options.max_time_in_queue_s,
        inference_retry_config=options.retry_config(),
    )
    with session_scope(engine) as session:
        store.add_job(
            session,
            owner=owner,
            request_id=request_id,
            target_label=target.label,
            target_json=json.dumps(target.to_dict()),
            model_input_json=json.dumps(model_input),
            webhook_endpoint=options.webhook_endpoint,
            priority=options.priority,
            max_time_in_queue_s=options.max_time_in_queue_s,
            retry_config_json=json.dumps(options.retry_config()),
            batch_name=batch_name,
        )
    return request_id


@dataclass(frozen=True)
class RowOutcome:
    """What happened to one row of a batch: sent (with its request id) or why not."""

    row_number: int
    request_id: str | None = None
    reason: str | None = None

    @property
    def sent(self) -> bool:
        return self.request_id is not None


@dataclass
class BatchReport:
    """What happened to each row of a batch, in row order."""

    outcomes: list[RowOutcome] = field(default_factory=list)

    @property
    def submitted(self) -> list[tuple[int, str]]:
        return [(o.row_number, o.request_id) for o in self.outcomes if o.request_id]

    @property
    def failed(self) -> list[tuple[int, str]]:
        return [(o.row_number, o.reason or "") for o in self.outcomes if not o.sent]


def check_rows(rows: Sequence[BatchRow], options: SubmitOptions) -> list[BatchRow]:
    """Each row checked exactly as it will be sent: the body the client will build, encoded
    as the client will encode it. A row that would fail gets its reason now, in the preview."""
    return [_check_row(row, options) for row in rows]


def _check_row(row: BatchRow, options: SubmitOptions) -> BatchRow:
    if not row.ok or row.model_input is None:
        return row
    try:
        check_sendable(row.model_input)
        options.request_body(row.model_input)
    except InputError as exc:
        return BatchRow(row.row_number, error=str(exc))
    except errors.BasetenError as exc:
        return BatchRow(row.row_number, error=_first_line(exc))
    return row


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else "it cannot be sent"


def submit_batch(
    engine: Engine,
    client: JobsClient,
    target: Target,
    rows: Sequence[BatchRow],
    options: SubmitOptions,
    *,
    owner: str,
    batch_name: str,
    on_progress: Callable[[int, int], None] | None = None,
) -> BatchReport:
    """Submit every good row as its own job; each row's outcome is reported, none is dropped:
    a bad row or a refused one is reported and the next row is still sent."""
    options.validate()
    report = BatchReport()
    for done, row in enumerate(check_rows(rows, options), start=1):
        if not row.ok or row.model_input is None:
            report.outcomes.append(RowOutcome(row.row_number, reason=row.error or "no input"))
        else:
            report.outcomes.append(
                _submit_row(engine, client, target, row, options, batch_name, owner)
            )
        if on_progress is not None:
            on_progress(done, len(rows))
    return report


def _submit_row(
    engine: Engine,
    client: JobsClient,
    target: Target,
    row: BatchRow,
    options: SubmitOptions,
    batch_name: str,
    owner: str,
) -> RowOutcome:
    try:
        rid = submit_job(
            engine,
            client,
            target,
            row.model_input or {},
            options,
            owner=owner,
            batch_name=batch_name,
        )
    except (errors.BasetenError, InputError) as exc:
        return RowOutcome(row.row_number, reason=user_errors.describe(exc, context="jobs"))
    except Exception:
        logger.exception("batch row %d could not be submitted", row.row_number)
        return RowOutcome(
            row.row_number,
            reason="it was not sent because of an unexpected "
            "error in this app (details are in the server log)",
        )
    return RowOutcome(row.row_number, request_id=rid)


def job_target(row: store.JobRow) -> Target:
    """The target a job was submitted to (not the sidebar's current one)."""
    if row.job is None:
        raise ValueError(f"{row.request_id} was not submitted by this app")
    return Target.from_dict(json.loads(row.job.target_json))


# --- cancel ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CancelOutcome:
    """Whether Baseten canceled the job, and its words."""

    canceled: bool
    message: str


def cancel_job(engine: Engine, client: JobsClient, request_id: str, *, owner: str) -> CancelOutcome:
    """Ask Baseten to cancel one of ``owner``'s queued jobs; record it when it did. Client
    errors propagate. A request id that is not one of theirs is not sent to Baseten."""
    with session_scope(engine) as session:
        if store.get_job(session, request_id, owner) is None:
            return CancelOutcome(
                False, f"Job {request_id} was not found among your jobs, so nothing was canceled."
            )
    answer = client.cancel_async_request(request_id)
    canceled, api_message = _cancel_answer(answer)
    if canceled:
        with session_scope(engine) as session:
            store.update_job_status(
                session,
                request_id,
                owner=owner,
                status="CANCELED",
                webhook_status="CANCELED",
                note=api_message or None,
            )
        return CancelOutcome(True, api_message or f"Job {request_id} was canceled.")
    return CancelOutcome(
        False,
        api_message
        or (f"Baseten did not cancel job {request_id}: only queued jobs can be canceled."),
    )


def _cancel_answer(answer: Any) -> tuple[bool, str]:
    if isinstance(answer, bool):
        return answer, ""
    if isinstance(answer, dict):
        return bool(answer.get("canceled")), str(answer.get("message") or "")
    return bool(getattr(answer, "canceled", answer)), str(getattr(answer, "message", "") or "")


# --- reading ------------------------------------------------------------------------------


def list_rows(engine: Engine, *, owner: str) -> list[store.JobRow]:
    """``owner``'s jobs and the results they may see, newest first. Results are summaries
    (the process reads each stored body once, see :mod:`chatapp.services.job_results`), jobs
    come without inputs."""
    every = job_results.shared_index(engine).summaries(engine)
    with session_scope(engine) as session:
        jobs = {job.request_id: job for job in store.list_jobs(session, owner)}
    mine = set(jobs)
    summaries = {
        rid: s for rid, s in every.items() if store.result_visible(owner, s.owner, rid, mine)
    }
    rows = [
        store.JobRow(rid, jobs.get(rid), summaries.get(rid))
        for rid in jobs.keys() | summaries.keys()
    ]
    rows.sort(key=store.row_time, reverse=True)
    return rows


def count_unfinished(engine: Engine, *, owner: str) -> int:
    """How many of ``owner``'s jobs can still change (the page refreshes only while there
    are some)."""
    with session_scope(engine) as session:
        return len(store.list_unfinished_jobs(session, owner))


#: Baseten's statuses in words (the table shows these, never a code cut short).
STATUS_WORDS = {
    "QUEUED": "Queued",
    "IN_PROGRESS": "Running",
    "SUCCEEDED": "Succeeded",
    "FAILED": "Failed",
    "EXPIRED": "Expired in the queue",
    "CANCELED": "Canceled",
    "WEBHOOK_FAILED": "Result not delivered",
    "NOT_FOUND": "No status at Baseten",
    "UNKNOWN": "Unknown",
}


def status_words(row: store.JobRow) -> str:
    """The row's status as a person reads it."""
    return STATUS_WORDS.get(row.status, row.status.replace("_", " ").capitalize())


def failure_reason(row: store.JobRow) -> str:
    """Why a job failed or what is worth knowing about it, in plain words ("" when nothing)."""
    job, result = row.job, row.result
    if result is not None and not getattr(result, "readable", True):
        return "The stored result holds data this page cannot show; export it to inspect it."
    if result is not None and result.errors:
        return "The model failed: " + job_results.errors_text(result.errors)
    if job is None:
        return ""
    if row.status == "WEBHOOK_FAILED":
        return _delivery_failure(job)
    if row.status == "FAILED":
        return "The model failed" + (f": {job.status_note}" if job.status_note else ".")
    if row.status == "EXPIRED":
        return (
            f"It waited in the queue longer than its limit ({job.max_time_in_queue_s} s) "
            "and was never run."
        )
    return job.status_note or ""


def _delivery_failure(job: store.Job) -> str:
    refused = recent_refusal(job.request_id)
    if refused:
        return f"Webhook delivery failed: the app's receiver refused it ({refused})."
    host = urlparse(job.webhook_endpoint or "").hostname or "the webhook URL"
    return (
        f"Webhook delivery failed: Baseten could not deliver the result to {host}, and it "
        "keeps no copy. Check that this address reaches the app, then submit the job again."
    )


def table_records(rows: Iterable[store.JobRow]) -> list[dict[str, Any]]:
    """The jobs table as plain records (one per job or orphan result)."""
    return [
        {
            "Request id": row.request_id,
            "Submitted at": _when(row.job.submitted_at) if row.job else "",
            "Target": row.job.target_label if row.job else "(not submitted here)",
            "Status": status_words(row),
            "Details": failure_reason(row),
            "Result preview": row.result.preview
            if isinstance(row.result, job_results.ResultSummary)
            else "",
        }
        for row in rows
    ]


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else ""

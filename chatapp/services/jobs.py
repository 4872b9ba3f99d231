"""Async inference jobs: submit one or a batch, cancel, preview and export results.

A submission that Baseten refuses raises the client's error and stores nothing (no phantom
row); a batch reports each bad row (row number and reason) and carries on. Status polling, at a
pace Baseten's rate limit allows, lives in :mod:`chatapp.services.job_polling`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlparse

from sqlalchemy import Engine

from baseten_llm import errors
from baseten_llm.jobs import build_async_body
from chatapp.services.batch_inputs import BatchRow, InputError, check_sendable
from chatapp.storage import jobs as store
from chatapp.storage.db import session_scope
from chatapp.targets import Target

logger = logging.getLogger(__name__)

PREVIEW_CHARS = 120
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
            model_input, webhook_endpoint=self.webhook_endpoint or None, priority=self.priority,
            max_time_in_queue_seconds=self.max_time_in_queue_s,
            inference_retry_config=self.retry_config())


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
    batch_name: str | None = None,
) -> str:
    """Submit one job and record it; returns the request id. Client errors propagate."""
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
            report.outcomes.append(_submit_row(engine, client, target, row, options, batch_name))
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
) -> RowOutcome:
    try:
        rid = submit_job(engine, client, target, row.model_input or {}, options,
                         batch_name=batch_name)
    except (errors.BasetenError, InputError) as exc:
        return RowOutcome(row.row_number, reason=str(exc))
    except Exception:  # noqa: BLE001 - one row's surprise must not leave later rows unsent
        logger.exception("batch row %d could not be submitted", row.row_number)
        return RowOutcome(row.row_number, reason="it was not sent because of an unexpected "
                          "error in this app (details are in the server log)")
    return RowOutcome(row.row_number, request_id=rid)


def job_target(row: store.JobRow) -> Target:
    """The target a job was submitted to (not the sidebar's current one)."""
    if row.job is None:
        raise ValueError(f"{row.request_id} was not submitted by this app")
    return Target.from_dict(json.loads(row.job.target_json))


def errors_text(items: Any) -> str:
    parts = []
    for item in items or []:
        code = getattr(item, "code", None) or (item.get("code") if isinstance(item, dict) else "")
        msg = getattr(item, "message", None) or (item.get("message") if isinstance(item, dict)
                                                 else str(item))
        parts.append(f"{code}: {msg}" if code else str(msg))
    return "; ".join(parts)


# --- cancel ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CancelOutcome:
    """Whether Baseten canceled the job, and its words."""

    canceled: bool
    message: str


def cancel_job(engine: Engine, client: JobsClient, request_id: str) -> CancelOutcome:
    """Ask Baseten to cancel a queued job; record it when it did. Client errors propagate."""
    answer = client.cancel_async_request(request_id)
    canceled, api_message = _cancel_answer(answer)
    if canceled:
        with session_scope(engine) as session:
            store.update_job_status(session, request_id, status="CANCELED",
                                    webhook_status="CANCELED", note=api_message or None)
        return CancelOutcome(True, api_message or f"Job {request_id} was canceled.")
    return CancelOutcome(False, api_message or (
        f"Baseten did not cancel job {request_id}: only queued jobs can be canceled."))


def _cancel_answer(answer: Any) -> tuple[bool, str]:
    if isinstance(answer, bool):
        return answer, ""
    if isinstance(answer, dict):
        return bool(answer.get("canceled")), str(answer.get("message") or "")
    return bool(getattr(answer, "canceled", answer)), str(getattr(answer, "message", "") or "")


# --- reading and export ------------------------------------------------------------------


def list_rows(engine: Engine) -> list[store.JobRow]:
    """Every job and result, newest first."""
    with session_scope(engine) as session:
        return store.list_job_rows(session)


def result_preview(result: store.WebhookResult | None) -> str:
    """One short line for the table: the output text, or the error."""
    if result is None:
        return ""
    if result.errors:
        return "Error: " + errors_text(result.errors)
    text = _output_text(result.data)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _output_text(data: Any) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        for key in ("output", "text", "completion", "generated_text", "result"):
            if isinstance(data.get(key), str):
                return data[key]
        choices = data.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            first = choices[0]
            message = first.get("message") if isinstance(first.get("message"), dict) else {}
            if isinstance(message.get("content"), str):
                return message["content"]
            if isinstance(first.get("text"), str):
                return first["text"]
    return json.dumps(data, ensure_ascii=False)


def table_records(rows: Iterable[store.JobRow]) -> list[dict[str, Any]]:
    """The jobs table as plain records (one per job or orphan result)."""
    return [
        {
            "Request id": row.request_id,
            "Submitted at": _when(row.job.submitted_at) if row.job else "",
            "Target": row.job.target_label if row.job else "(not submitted here)",
            "Status": row.status,
            "Webhook": row.webhook_status,
            "Result preview": result_preview(row.result),
            "Note": (row.job.status_note or "") if row.job else "",
        }
        for row in rows
    ]


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else ""


EXPORT_FIELDS = ("request_id", "submitted_at", "target", "status", "received_at",
                 "model_id", "deployment_id", "data", "errors")


def export_records(rows: Iterable[store.JobRow]) -> list[dict[str, Any]]:
    """One record per stored result, with the job it belongs to when known."""
    return [
        {
            "request_id": row.request_id,
            "submitted_at": _when(row.job.submitted_at) if row.job else "",
            "target": row.job.target_label if row.job else "",
            "status": row.status,
            "received_at": _when(row.result.received_at),
            "model_id": row.result.model_id or "",
            "deployment_id": row.result.deployment_id or "",
            "data": row.result.data,
            "errors": row.result.errors,
        }
        for row in rows
        if row.result is not None
    ]


def export_jsonl(rows: Iterable[store.JobRow]) -> bytes:
    """Results as JSON Lines, ``data`` kept as JSON."""
    lines = [json.dumps(rec, ensure_ascii=False) for rec in export_records(rows)]
    return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")


def export_csv(rows: Iterable[store.JobRow]) -> bytes:
    """Results as CSV; ``data`` is text when the output is text, JSON otherwise."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for rec in export_records(rows):
        data = rec["data"]
        rec["data"] = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        rec["errors"] = json.dumps(rec["errors"], ensure_ascii=False)
        writer.writerow(rec)
    return buffer.getvalue().encode("utf-8")

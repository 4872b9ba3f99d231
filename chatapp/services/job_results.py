"""Stored webhook results, read as little as possible: summaries, previews and exports.

A stored result never changes (the receiver inserts once per request id and never updates),
so each one is read whole once per process (whichever replica's receiver stored it), summarised (:class:`ResultSummary`: a one-line
preview, its size, whether it failed) and kept in a :class:`ResultIndex`. A page that
refreshes then asks the database only for results newer than the last one it knows, not for
every body again. The page shows a large result as a preview (:func:`load_view`) and builds an
export only when someone asks for it (:func:`export_jsonl`, :func:`export_csv`).

A result the app cannot show (stored before the receiver checked for it, e.g. text that is not
valid Unicode) is summarised as unreadable instead of breaking the page for everyone.

The summaries of the whole process are shared by its sessions and carry each result's owner;
whatever a page shows, views or exports is read for the current user (``owner``) only, by the
rule of :func:`chatapp.storage.jobs.visible_to`.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from chatapp.services.bounded_json import JSONLimitError, check_value
from chatapp.storage import jobs as store
from chatapp.storage.db import session_scope

PREVIEW_CHARS = 120
#: A result up to this size is shown whole; a larger one as its first :data:`VIEW_CHARS`.
FULL_VIEW_BYTES = 256 * 1024
VIEW_CHARS = 20_000


@dataclass(frozen=True)
class ResultSummary:
    """What the page needs about a stored result, without its body."""

    id: int
    request_id: str
    #: Whose result it is (its job's owner, or nobody's), as stored when it arrived.
    owner: str
    received_at: datetime
    model_id: str | None
    deployment_id: str | None
    errors: list[dict[str, Any]]
    preview: str
    size: int
    readable: bool = True


def errors_text(items: Any) -> str:
    """Baseten's ``errors`` list as ``CODE: message; ...``."""
    parts = []
    for item in items or []:
        code = getattr(item, "code", None) or (item.get("code") if isinstance(item, dict) else "")
        msg = getattr(item, "message", None) or (
            item.get("message") if isinstance(item, dict) else str(item)
        )
        parts.append(f"{code}: {msg}" if code else str(msg))
    return "; ".join(parts)


def summarise(result: store.WebhookResult) -> ResultSummary:
    """Read a stored result once; an unreadable one is marked, never raised."""
    size = len(result.raw_body or "")
    try:
        data, errors = result.data, result.errors
        check_value([data, errors, result.model_id or "", result.deployment_id or ""])
        if not isinstance(errors, list):
            raise JSONLimitError("its errors are not a list")
    except (JSONLimitError, ValueError, RecursionError) as exc:
        reason = (
            str(exc).removeprefix("it ")
            if isinstance(exc, JSONLimitError)
            else ("it is not valid JSON")
        )
        return ResultSummary(
            result.id,
            result.request_id,
            result.owner,
            result.received_at,
            None,
            None,
            [],
            f"⚠️ This result cannot be shown: {reason}.",
            size,
            readable=False,
        )
    return ResultSummary(
        result.id,
        result.request_id,
        result.owner,
        result.received_at,
        result.model_id,
        result.deployment_id,
        errors,
        _preview(data, errors),
        size,
    )


def _preview(data: Any, errors: list[dict[str, Any]]) -> str:
    if errors:
        return "Error: " + errors_text(errors)
    text = " ".join(output_text(data).split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def output_text(data: Any) -> str:
    """The text of a model output in the shapes models commonly return, else its JSON."""
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        for key in ("output", "text", "completion", "generated_text", "result"):
            if isinstance(data.get(key), str):
                return data[key]
        choices = data.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            first: dict[str, Any] = choices[0]
            message = first.get("message")
            message = message if isinstance(message, dict) else {}
            if isinstance(message.get("content"), str):
                return message["content"]
            if isinstance(first.get("text"), str):
                return first["text"]
    return json.dumps(data, ensure_ascii=False)


class ResultIndex:
    """Summaries of every stored result of one database, read incrementally."""

    def __init__(self) -> None:
        self._by_request: dict[str, ResultSummary] = {}
        self._last_id = 0
        self._lock = threading.Lock()

    def summaries(self, engine: Engine) -> dict[str, ResultSummary]:
        """Every result's summary by request id; only results stored since the last call are
        read from the database.

        Ids are not committed in order when several receivers (replicas) insert at once: a
        result with a smaller id can become visible after a larger one was read. When the
        count of stored results says one was missed, the missing ids are looked up and read.
        """
        with self._lock:
            with session_scope(engine) as session:
                for result in store.results_after(session, self._last_id):
                    self._add(result)
                if store.count_every_result(session) != len(self._by_request):
                    known = {s.id for s in self._by_request.values()}
                    for result in store.results_not_in(session, known):
                        self._add(result)
            return dict(self._by_request)

    def _add(self, result: store.WebhookResult) -> None:
        self._by_request[result.request_id] = summarise(result)
        self._last_id = max(self._last_id, result.id)


_INDEXES: dict[str, ResultIndex] = {}
_INDEXES_LOCK = threading.Lock()


def shared_index(engine: Engine) -> ResultIndex:
    """The index every session of this process shares for ``engine``'s database."""
    key = engine.url.render_as_string(hide_password=True)
    with _INDEXES_LOCK:
        return _INDEXES.setdefault(key, ResultIndex())


# --- one result, for the viewer ------------------------------------------------------------


@dataclass(frozen=True)
class ResultView:
    """A result as the page shows it: whole (``value``) when small, else the start of its
    stored body (``excerpt``)."""

    summary: ResultSummary
    value: Any = None
    excerpt: str | None = None


def load_view(engine: Engine, summary: ResultSummary, *, owner: str) -> ResultView:
    """The chosen result, if ``owner`` may see it: parsed whole up to
    :data:`FULL_VIEW_BYTES`, else an excerpt read from the database without loading the whole
    body into Python."""
    with session_scope(engine) as session:
        if summary.size > FULL_VIEW_BYTES or not summary.readable:
            return ResultView(
                summary, excerpt=store.raw_body_start(session, summary.id, VIEW_CHARS, owner)
            )
        result = store.get_result(session, summary.request_id, owner)
        return ResultView(summary, value=json.loads(result.raw_body) if result else None)


def raw_body(engine: Engine, request_id: str, *, owner: str) -> bytes:
    """The stored body of one result ``owner`` may see, as delivered (for its own download);
    empty for anyone else's."""
    with session_scope(engine) as session:
        result = store.get_result(session, request_id, owner)
        text = result.raw_body if result else ""
    return text.encode("utf-8", "backslashreplace")


# --- exports, built when asked -------------------------------------------------------------


EXPORT_FIELDS = (
    "request_id",
    "submitted_at",
    "target",
    "status",
    "received_at",
    "model_id",
    "deployment_id",
    "data",
    "errors",
)


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else ""


def export_records(engine: Engine, *, owner: str) -> Iterator[dict[str, Any]]:
    """One record per result ``owner`` may see (newest first), read one at a time."""
    with session_scope(engine) as session:
        jobs = {job.request_id: job for job in store.list_jobs(session, owner)}
        for result in store.iter_results(session, owner):
            job = jobs.get(result.request_id)
            summary = summarise(result)
            yield {
                "request_id": result.request_id,
                "submitted_at": _when(job.submitted_at) if job else "",
                "target": job.target_label if job else "",
                "status": store.JobRow(result.request_id, job, summary).status,
                "received_at": _when(result.received_at),
                "model_id": result.model_id or "",
                "deployment_id": result.deployment_id or "",
                "data": result.data if summary.readable else None,
                "errors": summary.errors,
            }


def export_jsonl(engine: Engine, *, owner: str) -> bytes:
    """``owner``'s results as JSON Lines, ``data`` kept as JSON."""
    return "".join(
        json.dumps(rec, ensure_ascii=False) + "\n" for rec in export_records(engine, owner=owner)
    ).encode("utf-8")


def export_csv(engine: Engine, *, owner: str) -> bytes:
    """Results as CSV; ``data`` is text when the output is text, JSON otherwise."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for rec in export_records(engine, owner=owner):
        data = rec["data"]
        rec["data"] = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        rec["errors"] = json.dumps(rec["errors"], ensure_ascii=False)
        writer.writerow(rec)
    return buffer.getvalue().encode("utf-8")


def count_unreadable(summaries: Iterable[ResultSummary]) -> int:
    """How many results the page can list but not show."""
    return sum(not s.readable for s in summaries)

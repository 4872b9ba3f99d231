"""Turn an uploaded JSONL or CSV file into one ``model_input`` per row, or a reason per bad row.

* JSONL: each non-blank line is a JSON object (used as the model input as is) or a JSON string
  (a prompt, mapped to ``{"prompt": ...}``).
* CSV: with a ``prompt`` column, each row becomes ``{"prompt": row["prompt"]}``; otherwise
  every column becomes a key of the model input. Cells that hold JSON objects, arrays, numbers
  or booleans are decoded, anything else stays text.

Row numbers are the ones a person sees in an editor: line numbers for JSONL, and for CSV the
data row counted from 1 after the header line. A bad row never stops the others.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from baseten_llm.errors import PayloadTooLargeError
from baseten_llm.jobs import MAX_ASYNC_BODY_BYTES, check_body_size
from chatapp.services.bounded_json import (
    InvalidJSONError,
    JSONLimitError,
    check_value,
    loads_bounded,
)

#: Upload limit for one batch file (rows are submitted one request each).
MAX_BATCH_ROWS = 5000


class InputError(ValueError):
    """A model input that cannot be sent; the message says how to fix it."""


@dataclass(frozen=True)
class BatchRow:
    """One row of a batch file: its model input, or why it cannot be sent."""

    row_number: int
    model_input: dict[str, Any] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def prompt_input(prompt: str) -> dict[str, Any]:
    """The model input for a plain prompt."""
    prompt = (prompt or "").strip()
    if not prompt:
        raise InputError("The prompt is empty: type what the model should answer.")
    model_input = {"prompt": prompt}
    check_sendable(model_input)
    return model_input


def parse_json_input(text: str) -> dict[str, Any]:
    """Parse a raw JSON model input; it must be a JSON object within 256 KiB."""
    if not (text or "").strip():
        raise InputError('The model input is empty: type a JSON object such as {"prompt": "Hi"}.')
    try:
        value = loads_bounded(text)
    except JSONLimitError as exc:
        raise InputError(
            f"The model input cannot be sent: {exc}. Fix it and submit again."
        ) from None
    if not isinstance(value, dict):
        raise InputError(f"The model input must be a JSON object ({{...}}), not {_kind(value)}.")
    check_sendable(value)
    return value


def _kind(value: Any) -> str:
    """A JSON type in words."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "null"
    return "a number"


def check_sendable(model_input: Any) -> None:
    """Raise :class:`InputError` unless ``model_input`` can be sent exactly as it is: nesting,
    finite numbers and valid Unicode (:mod:`chatapp.services.bounded_json`), then size."""
    try:
        check_value(model_input)
    except JSONLimitError as exc:
        raise InputError(f"The model input cannot be sent: {exc}.") from None
    check_input_size(model_input)


def check_input_size(model_input: Any) -> None:
    """Raise :class:`InputError` when a request carrying this input is over Baseten's 256 KiB
    limit (the library's own check, worded for the page)."""
    try:
        check_body_size({"model_input": model_input})
    except PayloadTooLargeError:
        size = len(json.dumps(model_input).encode("utf-8"))
        raise InputError(
            f"The model input is {size / 1024:.0f} KiB; Baseten accepts at most "
            f"{MAX_ASYNC_BODY_BYTES // 1024} KiB per async request. Shorten it or split it "
            "into several jobs."
        ) from None


def parse_batch(name: str, content: bytes) -> list[BatchRow]:
    """Parse a batch file by its extension (``.jsonl``/``.ndjson``/``.json`` or ``.csv``)."""
    text = _decode(content)
    lower = (name or "").lower()
    if lower.endswith(".csv"):
        rows = parse_csv(text)
    elif lower.endswith((".jsonl", ".ndjson", ".json")):
        rows = parse_jsonl(text)
    else:
        raise InputError("Upload a .jsonl or .csv file (one job per row).")
    if not rows:
        raise InputError("The file has no rows: add one input per line.")
    if len(rows) > MAX_BATCH_ROWS:
        raise InputError(
            f"The file has {len(rows)} rows; submit at most {MAX_BATCH_ROWS} per batch."
        )
    return rows


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            "The file is not UTF-8 text: save it as UTF-8 and upload it again."
        ) from None


def parse_jsonl(text: str) -> list[BatchRow]:
    """One row per non-blank line."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            rows.append(_row(number, lambda line=line: _jsonl_input(line)))
    return rows


def _jsonl_input(line: str) -> dict[str, Any]:
    try:
        value = loads_bounded(line)
    except InvalidJSONError as exc:
        raise InputError(f"it is not valid JSON ({exc.detail} at column {exc.column})") from None
    except JSONLimitError as exc:
        raise InputError(str(exc)) from None
    if isinstance(value, str):
        return prompt_input(value)
    if not isinstance(value, dict):
        raise InputError(f"expected a JSON object or a string, got {_kind(value)}")
    check_sendable(value)
    return value


def parse_csv(text: str) -> list[BatchRow]:
    """One row per data line after the header."""
    reader = csv.DictReader(io.StringIO(text))
    headers = [h.strip() for h in (reader.fieldnames or []) if h and h.strip()]
    if not headers:
        raise InputError("The CSV file has no header line: add one, e.g. `prompt`.")
    rows = []
    for number, record in enumerate(reader, start=1):
        rows.append(_row(number, lambda record=record: _csv_input(record, headers)))
    return rows


def _csv_input(record: dict[str | None, Any], headers: list[str]) -> dict[str, Any]:
    if record.get(None):
        raise InputError("more cells than header columns")
    cells = {(k or "").strip(): v for k, v in record.items() if k is not None}
    if "prompt" in headers:
        return prompt_input(cells.get("prompt") or "")
    if all(not (cells.get(h) or "").strip() for h in headers):
        raise InputError("the row is empty")
    model_input = {h: _cell_value(cells.get(h)) for h in headers}
    check_sendable(model_input)
    return model_input


def _cell_value(cell: str | None) -> Any:
    text = (cell or "").strip()
    if text[:1] in ("{", "[") or text in ("true", "false", "null") or _is_number(text):
        try:
            return loads_bounded(text)
        except InvalidJSONError:
            return cell
        except JSONLimitError as exc:
            raise InputError(f"a cell cannot be sent: {exc}") from None
    return cell if cell is not None else ""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.lower() not in ("nan", "inf", "-inf", "infinity", "-infinity")


def _row(number: int, build: Any) -> BatchRow:
    try:
        return BatchRow(number, model_input=build())
    except InputError as exc:
        return BatchRow(number, error=str(exc))

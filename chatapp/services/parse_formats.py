"""Which parser reads which upload, and the plain result every parser returns.

A parser turns bytes into :class:`Section` s (text plus where it came from: ``page`` for PDFs,
``section`` for headings, row and item ranges) under a :class:`~.parse_limits.Budget`. This
module and the parsers import no LlamaIndex and no Streamlit, so that the parse worker process
(:mod:`chatapp.services.parse_worker`) stays small; :mod:`chatapp.services.ingest` turns
sections into LlamaIndex documents.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from chatapp.services.parse_limits import (
    Budget,
    CorruptFileError,
    EmptyFileError,
    FileTooLargeError,
    IngestError,
    ParseLimits,
    Progress,
    UnsupportedTypeError,
)

SUPPORTED_TYPES = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".txt": "txt",
    ".text": "txt",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".csv": "csv",
    ".json": "json",
}
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
ROWS_PER_BLOCK = 25


@dataclass
class Section:
    """A piece of a file's text and where it came from (``page``, ``section``, ``ocr``)."""

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParsedSections:
    """Everything a parser found in one file."""

    file_type: str
    sections: list[Section]
    pages: int
    warning: str | None = None


Parser = Callable[[str, bytes, Budget], ParsedSections]


def file_type_of(filename: str) -> str:
    """The parser name for ``filename``, or :class:`UnsupportedTypeError`."""
    suffix = PurePath(filename).suffix.lower()
    if suffix not in SUPPORTED_TYPES:
        kinds = ", ".join(
            sorted(
                {s.lstrip(".").upper() for s in ("pdf", "docx", "txt", "md", "html", "csv", "json")}
            )
        )
        hint = " Save it as .docx first." if suffix == ".doc" else ""
        raise UnsupportedTypeError(
            f"{filename}: '{suffix or 'no extension'}' files are not supported.{hint}"
            f" Upload one of: {kinds}."
        )
    return SUPPORTED_TYPES[suffix]


def check_upload(filename: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Cheap checks before any parsing; returns the file type."""
    kind = file_type_of(filename)
    if len(data) > max_bytes:
        raise FileTooLargeError(
            f"{filename} is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit."
            " Split it into smaller files or raise the limit."
        )
    if not data.strip():
        raise EmptyFileError(f"{filename} is empty: there is nothing to index.")
    return kind


def parse_sections(
    filename: str,
    data: bytes,
    limits: ParseLimits | None = None,
    progress: Progress | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ParsedSections:
    """Parse ``data`` by the type ``filename`` names, within ``limits``.

    Raises an :class:`IngestError` whose message a person can act on; no library error text or
    exception name reaches it.
    """
    kind = check_upload(filename, data, max_bytes)
    budget = Budget(filename, kind, limits or ParseLimits(), progress)
    try:
        parsed = _parser(kind)(filename, data, budget)
    except (IngestError, MemoryError):
        raise
    except RecursionError as exc:
        raise budget_depth_error(budget) from exc
    except Exception as exc:  # each library fails in its own way on bad bytes
        raise CorruptFileError(
            f"{filename} could not be read as {kind.upper()}: the file is damaged or is not"
            f" really a {kind.upper()} file. Open it in the program that made it, save it"
            " again, and upload the new copy."
        ) from exc
    parsed.sections = [s for s in parsed.sections if s.text.strip()]
    if not parsed.sections:
        raise EmptyFileError(f"{filename} contains no text to index.")
    return parsed


def budget_depth_error(budget: Budget) -> IngestError:
    """The nesting-limit refusal, for a library that recursed too deep before we could count."""
    try:
        budget.check_depth(budget.limits.max_depth + 1)
    except IngestError as exc:
        return exc
    raise AssertionError("unreachable")


def _parser(kind: str) -> Parser:
    if kind == "pdf":
        from chatapp.services.parse_pdf import parse_pdf

        return parse_pdf
    if kind == "docx":
        from chatapp.services.parse_docx import parse_docx

        return parse_docx
    from chatapp.services import parse_text

    return {
        "txt": parse_text.parse_txt,
        "markdown": parse_text.parse_markdown,
        "html": parse_text.parse_html,
        "csv": parse_text.parse_csv,
        "json": parse_text.parse_json,
    }[kind]


def ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``1-3, 7``."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def section_of(title: str, body: list[str]) -> Section:
    """A heading's body lines as one section (no ``section`` key before the first heading)."""
    return Section("\n".join(body).strip(), {"section": title} if title else {})


def split_headings(blocks: Any) -> list[tuple[str, list[str]]]:
    """Group ``(level, text)`` blocks (level 0: body) under their heading path ``A › B``."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    path: list[tuple[int, str]] = []
    for level, text in blocks:
        if level:
            path = [p for p in path if p[0] < level] + [(level, text.strip())]
            sections.append((" › ".join(t for _, t in path), []))
        elif text.strip() or sections[-1][1]:
            sections[-1][1].append(text)
    return sections

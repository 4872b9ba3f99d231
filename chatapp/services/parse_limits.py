"""What an upload may cost to parse, and the errors a person sees when a file is refused.

Every parser reads through a :class:`Budget`: it counts what it has read so far (unpacked
bytes, pages, paragraphs, rows, nesting depth, extracted characters) and raises
:class:`LimitExceededError` the moment one count passes its :class:`ParseLimits` value, so a
hostile file is refused while it is being read, not after it has filled the memory.

The limits are settings (``.streamlit/secrets.toml`` or the environment, see
:data:`LIMIT_SETTINGS`); a value that is missing, not a number or not positive keeps the
default. This module imports nothing heavy: the parse worker process loads it first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace

MB = 1024 * 1024

#: Setting name for each :class:`ParseLimits` field.
LIMIT_SETTINGS = {
    "max_unpacked_mb": "BASETEN_CHAT_MAX_UNPACKED_MB",
    "max_unpacked_total_mb": "BASETEN_CHAT_MAX_UNPACKED_TOTAL_MB",
    "max_compression_ratio": "BASETEN_CHAT_MAX_COMPRESSION_RATIO",
    "max_pages": "BASETEN_CHAT_MAX_PAGES",
    "max_paragraphs": "BASETEN_CHAT_MAX_PARAGRAPHS",
    "max_rows": "BASETEN_CHAT_MAX_ROWS",
    "max_line_chars": "BASETEN_CHAT_MAX_LINE_CHARS",
    "max_depth": "BASETEN_CHAT_MAX_NESTING",
    "max_chars": "BASETEN_CHAT_MAX_TEXT_CHARS",
    "memory_mb": "BASETEN_CHAT_PARSE_MEMORY_MB",
    "timeout_s": "BASETEN_CHAT_PARSE_TIMEOUT_S",
}


@dataclass(frozen=True)
class ParseLimits:
    """How much one upload may expand to while it is parsed (defaults fit a 50 MB upload)."""

    max_unpacked_mb: int = 200  # one archive member (DOCX: word/document.xml), unpacked
    max_unpacked_total_mb: int = 300  # every member read from one archive, together
    max_compression_ratio: int = 100  # unpacked size / packed size of a member
    max_pages: int = 5000  # PDF pages
    max_paragraphs: int = 200_000  # DOCX paragraphs, HTML text blocks
    max_rows: int = 1_000_000  # CSV rows, JSON array items
    max_line_chars: int = 1_000_000  # one CSV row or text line
    max_depth: int = 200  # nesting of JSON values, HTML and XML elements
    max_chars: int = 20_000_000  # text extracted from one file
    memory_mb: int = 2048  # address space of the parse worker process
    timeout_s: int = 600  # wall time for one file in the parse worker

    @classmethod
    def from_lookup(cls, get: Callable[[str], str | None]) -> ParseLimits:
        """Read each limit's setting through ``get`` (name -> text or None)."""
        values: dict[str, int] = {}
        for name, setting in LIMIT_SETTINGS.items():
            raw = get(setting)
            try:
                number = int(float(raw)) if raw is not None else 0
            except ValueError:
                number = 0
            if number > 0:
                values[name] = number
        return replace(cls(), **values)

    def setting(self, name: str) -> str:
        """The setting that raises the limit ``name``."""
        return LIMIT_SETTINGS[name]


assert {f.name for f in fields(ParseLimits)} == set(LIMIT_SETTINGS)


# --- errors (messages are for people: what happened, what to do next) ------------------------


class IngestError(Exception):
    """A file could not be indexed; ``str(exc)`` says why and what to do."""


class UnsupportedTypeError(IngestError):
    """The file's extension is not one we can parse."""


class FileTooLargeError(IngestError):
    """The file is over the configured size limit."""


class EmptyFileError(IngestError):
    """The file has no content, or no text at all."""


class CorruptFileError(IngestError):
    """The file could not be parsed as the type its name says."""


class EncryptedPdfError(IngestError):
    """The PDF needs a password."""


class ScannedPdfError(IngestError):
    """The PDF has pages but no text layer, and OCR could not read them."""


class UnknownEncodingError(IngestError):
    """The text's encoding could not be determined with confidence."""


class LimitExceededError(IngestError):
    """Reading the file passed one of the :class:`ParseLimits`; the message names it."""


class ParseMemoryError(LimitExceededError):
    """The parse worker ran out of its memory cap (or crashed) on this file."""


class ParseTimeoutError(LimitExceededError):
    """The parse worker took longer than its time limit on this file."""


class IngestCanceled(IngestError):
    """A person canceled the file while it was being parsed."""


# --- the running counts -----------------------------------------------------------------------


Progress = Callable[[int, int], None]


class Budget:
    """The counts of one file's parse, checked against its limits as they grow."""

    def __init__(
        self, filename: str, kind: str, limits: ParseLimits, progress: Progress | None = None
    ) -> None:
        self.filename = filename
        self.kind = kind.upper()
        self.limits = limits
        self.progress = progress
        self.chars = 0
        self.paragraphs = 0
        self.rows = 0
        self.unpacked_total = 0

    def _refuse(self, what: str, limit_name: str) -> LimitExceededError:
        return LimitExceededError(
            f"{self.filename} {what}. Split it into smaller files, or raise"
            f" {self.limits.setting(limit_name)} if you trust it."
        )

    def add_chars(self, count: int) -> None:
        self.chars += count
        if self.chars > self.limits.max_chars:
            raise self._refuse(
                f"holds more than {self.limits.max_chars:,} characters of text"
                f" (limit {self.limits.max_chars:,})",
                "max_chars",
            )

    def add_paragraph(self) -> None:
        self.paragraphs += 1
        if self.paragraphs > self.limits.max_paragraphs:
            unit = "paragraphs" if self.kind == "DOCX" else "blocks of text"
            raise self._refuse(
                f"has more than {self.limits.max_paragraphs:,} {unit}"
                f" (limit {self.limits.max_paragraphs:,})",
                "max_paragraphs",
            )

    def add_row(self) -> None:
        self.rows += 1
        if self.rows > self.limits.max_rows:
            unit = "rows" if self.kind == "CSV" else "items"
            raise self._refuse(
                f"has more than {self.limits.max_rows:,} {unit} (limit {self.limits.max_rows:,})",
                "max_rows",
            )

    def check_line(self, length: int) -> None:
        if length > self.limits.max_line_chars:
            unit = "a row" if self.kind == "CSV" else "a line"
            raise self._refuse(
                f"has {unit} longer than {self.limits.max_line_chars:,}"
                f" characters (limit {self.limits.max_line_chars:,})",
                "max_line_chars",
            )

    def check_depth(self, depth: int) -> None:
        if depth > self.limits.max_depth:
            raise self._refuse(
                f"is nested more than {self.limits.max_depth} levels deep"
                f" (limit {self.limits.max_depth})",
                "max_depth",
            )

    def check_pages(self, pages: int) -> None:
        if pages > self.limits.max_pages:
            raise self._refuse(
                f"has {pages:,} pages (limit {self.limits.max_pages:,})", "max_pages"
            )

    def check_unpacked(self, member: str, unpacked: int, packed: int, added: int) -> None:
        """Called as an archive member is read: ``unpacked`` bytes so far of it."""
        self.unpacked_total += added
        limits = self.limits
        if unpacked > limits.max_unpacked_mb * MB:
            raise self._refuse(
                f"expands to more than {limits.max_unpacked_mb} MB when"
                f" unpacked ({member}; limit {limits.max_unpacked_mb} MB)",
                "max_unpacked_mb",
            )
        if self.unpacked_total > limits.max_unpacked_total_mb * MB:
            raise self._refuse(
                f"expands to more than {limits.max_unpacked_total_mb} MB in"
                f" total when unpacked (limit {limits.max_unpacked_total_mb}"
                " MB)",
                "max_unpacked_total_mb",
            )
        if unpacked > MB and unpacked > limits.max_compression_ratio * max(packed, 1):
            raise self._refuse(
                f"unpacks to more than {limits.max_compression_ratio} times"
                f" its packed size ({member}; limit"
                f" {limits.max_compression_ratio}x), which is how zip bombs"
                " look",
                "max_compression_ratio",
            )

    def page_done(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

"""Parsers for text uploads: plain text, Markdown, HTML, CSV and JSON.

Each reads its bytes as a decoded stream, a piece at a time, and counts what it extracts
through the :class:`~.parse_limits.Budget`, so a huge file is refused early instead of being
held in several full copies. HTML goes through the standard library's incremental tokenizer
(no tree is built); JSON nesting is measured before the recursive decoder runs.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser

from chatapp.services.parse_formats import (
    ROWS_PER_BLOCK,
    ParsedSections,
    Section,
    section_of,
    split_headings,
)
from chatapp.services.parse_limits import (
    Budget,
    CorruptFileError,
    EmptyFileError,
    UnknownEncodingError,
)

CHUNK = 1 << 20  # characters (or bytes) read at a time
DETECT_SAMPLE = 4 << 20  # bytes charset-normalizer looks at


# --- decoding ---------------------------------------------------------------------------------


def text_encoding(filename: str, data: bytes) -> str:
    """UTF-8 (with or without BOM), else the encoding charset-normalizer is confident about."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), CHUNK):  # validate without holding a decoded copy
            decoder.decode(view[start : start + CHUNK])
        decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data[:DETECT_SAMPLE])
    best = matches.best()
    if best is not None:  # on a tie, the most common legacy encoding of Western text wins
        ties = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
        best = next((m for m in ties if m.encoding == "cp1252"), best)
    if best is None or best.chaos > 0.1 or "\x00" in str(best):
        raise _unknown_encoding(filename)
    return best.encoding


def _unknown_encoding(filename: str) -> UnknownEncodingError:
    return UnknownEncodingError(
        f"{filename}: the text encoding could not be recognised with confidence. Save the"
        " file as UTF-8 and upload it again."
    )


def decode_text(filename: str, data: bytes) -> str:
    """The whole text of ``data`` (for small inputs; parsers stream with :func:`open_text`)."""
    return data.decode(text_encoding(filename, data))


def open_text(filename: str, data: bytes, newline: str | None = None) -> io.TextIOWrapper:
    """A decoded stream over ``data`` that shares its buffer (no copy of the bytes)."""
    return io.TextIOWrapper(
        io.BytesIO(data), encoding=text_encoding(filename, data), newline=newline
    )


def _chunks(filename: str, stream: io.TextIOWrapper, budget: Budget | None) -> Iterator[str]:
    try:
        while chunk := stream.read(CHUNK):
            if budget is not None:
                budget.add_chars(len(chunk))
            yield chunk
    except UnicodeDecodeError as exc:  # the encoding guessed from the start fails later on
        raise _unknown_encoding(filename) from exc


# --- plain text and Markdown ------------------------------------------------------------------


def parse_txt(filename: str, data: bytes, budget: Budget) -> ParsedSections:
    text = "".join(_chunks(filename, open_text(filename, data), budget))
    return ParsedSections("txt", [Section(text)], 1)


def parse_markdown(filename: str, data: bytes, budget: Budget) -> ParsedSections:
    stream = open_text(filename, data)
    sections = split_headings(_markdown_blocks(filename, stream, budget))
    docs = [section_of(title, body) for title, body in sections if body]
    return ParsedSections("markdown", docs, len(docs))


def _markdown_blocks(
    filename: str, stream: io.TextIOWrapper, budget: Budget
) -> Iterator[tuple[int, str]]:
    """(heading level, text) per line; level 0 for body lines, fenced code kept as body."""
    fenced = False
    try:
        for raw in stream:
            budget.add_chars(len(raw))
            line = raw.rstrip("\r\n")
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            match = None if fenced else re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
            yield (len(match.group(1)), match.group(2)) if match else (0, line)
    except UnicodeDecodeError as exc:
        raise _unknown_encoding(filename) from exc


# --- HTML -------------------------------------------------------------------------------------

_SKIPPED = {"script", "style", "noscript", "template", "head"}
_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "param",
    "source",
    "track",
    "wbr",
}
_INLINE = {
    "a",
    "abbr",
    "b",
    "bdi",
    "bdo",
    "cite",
    "code",
    "data",
    "dfn",
    "em",
    "font",
    "i",
    "kbd",
    "label",
    "mark",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "time",
    "u",
    "var",
}
#: Elements a new sibling of the same name closes (``<li>a<li>b``), unless a list, table or
#: select opened in between.
_IMPLIED_END = {"p", "li", "dt", "dd", "tr", "td", "th", "option"}
_CONTAINERS = {"ul", "ol", "dl", "table", "select"}


class _HtmlText(HTMLParser):
    """Collects ``(heading level, text)`` blocks in document order, counting as it goes."""

    def __init__(self, budget: Budget) -> None:
        super().__init__(convert_charrefs=True)
        self.budget = budget
        self.open: list[str] = []
        self.skipping = 0
        self.pre = 0
        self.heading = 0
        self.parts: list[str] = []
        self.blocks: list[tuple[int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _INLINE:
            self._flush()
        if tag in _VOID:
            return
        if tag in _IMPLIED_END and tag in self.open:
            index = len(self.open) - 1 - self.open[::-1].index(tag)
            if not _CONTAINERS.intersection(self.open[index + 1 :]):
                self._close_from(index)
        self.open.append(tag)
        self.budget.check_depth(len(self.open))
        self.skipping += tag in _SKIPPED
        self.pre += tag == "pre"
        if re.fullmatch(r"h[1-6]", tag) and not self.skipping:
            self.heading = int(tag[1])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _INLINE:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag not in _INLINE:
            self._flush()
        if tag in self.open:
            self._close_from(len(self.open) - 1 - self.open[::-1].index(tag))

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)
            self.budget.add_chars(len(data))

    def _close_from(self, index: int) -> None:
        closed = self.open[index:]
        del self.open[index:]
        self.skipping -= sum(t in _SKIPPED for t in closed)
        self.pre -= closed.count("pre")

    def _flush(self) -> None:
        text, self.parts = "".join(self.parts), []
        if self.heading:
            title = " ".join(text.split())
            if title:
                self.blocks.append((self.heading, title))
                self.budget.add_paragraph()
            self.heading = 0
            return
        lines = text.splitlines() if self.pre else [" ".join(text.split())]
        for line in lines:
            if line.strip():
                self.blocks.append((0, line.rstrip()))
                self.budget.add_paragraph()


def parse_html(filename: str, data: bytes, budget: Budget) -> ParsedSections:
    reader = _HtmlText(budget)
    for chunk in _chunks(filename, open_text(filename, data), None):
        reader.feed(chunk)
    reader.close()
    reader._flush()
    docs = [section_of(t, b) for t, b in split_headings(iter(reader.blocks)) if b]
    return ParsedSections("html", docs, len(docs))


# --- CSV --------------------------------------------------------------------------------------


def parse_csv(filename: str, data: bytes, budget: Budget) -> ParsedSections:
    stream = open_text(filename, data, newline="")
    try:
        sample = stream.read(4096)
        stream.seek(0)
    except UnicodeDecodeError as exc:
        raise _unknown_encoding(filename) from exc
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = (
        r
        for r in csv.reader(_lines(filename, stream, budget), dialect)
        if any(c.strip() for c in r)
    )
    header = next(rows, None)
    docs: list[Section] = []
    block: list[str] = []
    first = 2  # row 1 is the header
    for row in rows:
        budget.add_row()
        line = "; ".join(f"{h}: {v}" for h, v in zip(header or [], row))
        budget.add_chars(len(line))
        block.append(line)
        if len(block) == ROWS_PER_BLOCK:
            docs.append(_rows_section(block, first))
            first, block = first + len(block), []
    if block:
        docs.append(_rows_section(block, first))
    if not docs:
        raise EmptyFileError(f"{filename} has a header but no data rows.")
    return ParsedSections("csv", docs, len(docs))


def _lines(filename: str, stream: io.TextIOWrapper, budget: Budget) -> Iterator[str]:
    """The stream's lines, refusing one longer than the limit before it is held whole."""
    limit = budget.limits.max_line_chars
    try:
        while line := stream.readline(limit + 1):
            budget.check_line(len(line.rstrip("\r\n")))
            yield line
    except UnicodeDecodeError as exc:
        raise _unknown_encoding(filename) from exc


def _rows_section(block: list[str], first: int) -> Section:
    return Section("\n".join(block), {"section": f"rows {first}-{first + len(block) - 1}"})


# --- JSON -------------------------------------------------------------------------------------

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def parse_json(filename: str, data: bytes, budget: Budget) -> ParsedSections:
    text = "".join(_chunks(filename, open_text(filename, data), None))
    _check_json_depth(text, budget)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptFileError(
            f"{filename} is not valid JSON: the first problem is at line {exc.lineno},"
            f" column {exc.colno}. Fix the file and upload it again."
        ) from exc
    del text
    if isinstance(value, list):
        docs = list(_json_items(value, budget))
    elif isinstance(value, dict):
        docs = []
        for key, item in value.items():
            budget.add_row()
            docs.append(
                Section(
                    f"{key}: {json.dumps(item, ensure_ascii=False, indent=1)}",
                    {"section": str(key)},
                )
            )
            budget.add_chars(len(docs[-1].text))
    else:
        docs = [Section(json.dumps(value, ensure_ascii=False))]
    return ParsedSections("json", docs, len(docs))


def _json_items(value: list[object], budget: Budget) -> Iterator[Section]:
    for start in range(0, len(value), ROWS_PER_BLOCK):
        block = value[start : start + ROWS_PER_BLOCK]
        for _ in block:
            budget.add_row()
        body = "\n".join(json.dumps(item, ensure_ascii=False) for item in block)
        budget.add_chars(len(body))
        yield Section(body, {"section": f"items {start + 1}-{start + len(block)}"})


def _check_json_depth(text: str, budget: Budget) -> None:
    """Refuse JSON nested deeper than the limit before the (recursive) decoder sees it."""
    depth = 0
    limit = budget.limits.max_depth
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub('""', text)):
        depth += 1 if match.group() in "[{" else -1
        if depth > limit:
            budget.check_depth(depth)

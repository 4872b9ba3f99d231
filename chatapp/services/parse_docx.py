"""DOCX uploads, read as a stream: headings become sections, tables come last.

``word/document.xml`` is unpacked a piece at a time through :class:`_CountingReader` (size,
total and compression ratio checked on every read) into lxml's incremental ``iterparse`` with
entities, DTDs and network access off. Each run, paragraph and table row is turned into text
as soon as it ends and then dropped from the tree, so memory follows one paragraph, not the
document; paragraphs, characters and nesting are counted as they are read. Heading levels
come from the style names in ``word/styles.xml`` ("Title", "Heading 1" ...), read the same way.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import IO

from lxml import etree

from chatapp.services.parse_formats import ParsedSections, Section, section_of
from chatapp.services.parse_limits import Budget, CorruptFileError

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
BODY_XML = "word/document.xml"
STYLES_XML = "word/styles.xml"
_TEXT_TAGS: dict[str, str] = {
    W + "t": "",
    W + "tab": "\t",
    W + "br": "\n",
    W + "cr": "\n",
    W + "noBreakHyphen": "-",
}


class _CountingReader:
    """A zip member's stream that checks the budget's unpacking limits on every read."""

    def __init__(self, stream: IO[bytes], member: zipfile.ZipInfo, budget: Budget) -> None:
        self.stream = stream
        self.member = member
        self.budget = budget
        self.unpacked = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size if 0 < size <= 1 << 16 else 1 << 16)
        self.unpacked += len(data)
        self.budget.check_unpacked(
            self.member.filename, self.unpacked, self.member.compress_size, len(data)
        )
        return data


def _events(
    archive: zipfile.ZipFile, name: str, budget: Budget, tags: tuple[str, ...] | None = None
) -> Iterator[tuple[str, etree._Element]]:
    info = archive.getinfo(name)
    budget.check_unpacked(name, 0, info.compress_size, 0)
    with archive.open(info) as stream:
        yield from etree.iterparse(
            _CountingReader(stream, info, budget),
            events=("start", "end"),
            tag=tags,
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )


def _drop(element: etree._Element) -> None:
    """Free a handled element and the siblings handled before it."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _style_names(archive: zipfile.ZipFile, budget: Budget) -> dict[str, str]:
    if STYLES_XML not in archive.namelist():
        return {}
    names: dict[str, str] = {}
    style_id = ""
    for event, element in _events(archive, STYLES_XML, budget, (W + "style", W + "name")):
        if event == "start" and element.tag == W + "style":
            style_id = element.get(W + "styleId") or ""
        elif event == "end" and element.tag == W + "name" and style_id:
            names[style_id] = element.get(W + "val") or ""
        elif event == "end":
            _drop(element)
    return names


def heading_level(style: str) -> int:
    """1 for "Title", N for "Heading N" (any case, with or without the space), else 0."""
    if style.lower() == "title":
        return 1
    match = re.fullmatch(r"heading ?(\d)", style, re.IGNORECASE)
    return int(match.group(1)) if match else 0


class _Body:
    """The running state of one ``document.xml`` walk."""

    def __init__(self, styles: dict[str, str], budget: Budget) -> None:
        self.styles = styles
        self.budget = budget
        self.depth = 0
        self.paragraphs: list[tuple[str | None, list[str]]] = []  # (style id, text parts)
        self.cells: list[list[str]] = []  # paragraphs of each open table cell
        self.rows: list[list[str]] = []  # cells of each open table row
        self.tables: list[list[str]] = []  # rows of each open table
        self.done_tables: list[list[str]] = []
        self.sections: list[tuple[str, list[str]]] = [("", [])]
        self.path: list[tuple[int, str]] = []

    def start(self, tag: str) -> None:
        self.depth += 1
        self.budget.check_depth(self.depth)
        if tag == W + "p":
            self.paragraphs.append((None, []))
        elif tag == W + "tc":
            self.cells.append([])
        elif tag == W + "tr":
            self.rows.append([])
        elif tag == W + "tbl":
            self.tables.append([])

    def end(self, element: etree._Element) -> None:
        self.depth -= 1
        tag = element.tag
        if tag in _TEXT_TAGS and self.paragraphs:
            text = _TEXT_TAGS[tag] or element.text or ""
            self.paragraphs[-1][1].append(text)
            self.budget.add_chars(len(text))
        elif tag == W + "pStyle" and self.paragraphs:
            self.paragraphs[-1] = (element.get(W + "val"), self.paragraphs[-1][1])
        elif tag == W + "p" and self.paragraphs:
            self._paragraph(*self.paragraphs.pop())
        elif tag == W + "tc" and self.cells:
            self.rows[-1].append("\n".join(self.cells.pop()).strip()) if self.rows else None
        elif tag == W + "tr" and self.rows:
            cells = self.rows.pop()
            if self.tables:
                self.tables[-1].append(" | ".join(cells))
        elif tag == W + "tbl" and self.tables:
            rows = self.tables.pop()
            if self.cells:  # a table inside a table cell: its rows are that cell's text
                self.cells[-1].extend(rows)
            else:
                self.done_tables.append(rows)
        if tag in (W + "r", W + "p", W + "tc", W + "tr", W + "tbl", W + "sdt"):
            _drop(element)

    def _paragraph(self, style_id: str | None, parts: list[str]) -> None:
        self.budget.add_paragraph()
        text = "".join(parts).strip()
        if self.cells:
            self.cells[-1].append(text)
            return
        level = heading_level(self.styles.get(style_id or "", style_id or ""))
        if level and text:
            self.path = [p for p in self.path if p[0] < level] + [(level, text)]
            self.sections.append((" › ".join(t for _, t in self.path), []))
        elif text:
            self.sections[-1][1].append(text)


def parse_docx(filename: str, data: bytes, budget: Budget) -> ParsedSections:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise _not_docx(filename) from exc
    with archive:
        if BODY_XML not in archive.namelist():
            raise _not_docx(filename)
        body = _Body(_style_names(archive, budget), budget)
        for event, element in _events(archive, BODY_XML, budget):
            if event == "start":
                body.start(element.tag)
            else:
                body.end(element)
    sections = body.sections + [("Table", rows) for rows in body.done_tables]
    docs: list[Section] = [section_of(title, lines) for title, lines in sections if lines]
    return ParsedSections("docx", docs, len(docs))


def _not_docx(filename: str) -> CorruptFileError:
    return CorruptFileError(
        f"{filename} could not be read as DOCX: it is not a Word document (or it is damaged)."
        " Open it in Word or LibreOffice, save it as .docx, and upload the new copy."
    )

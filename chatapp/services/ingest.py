"""Turn an uploaded file into embedded chunks: parse, chunk, embed.

Every parser returns LlamaIndex ``Document`` objects whose metadata says where the text came
from, so that an answer can cite it: ``page`` (1-based) for PDFs, ``section`` (the heading
path) for Markdown, HTML and DOCX, ``section`` = ``rows 2-26`` for CSV and ``items 1-25`` for
JSON arrays. Bad input raises an :class:`IngestError` subclass whose message a user can act on;
nothing is written anywhere until a file has parsed, chunked and embedded completely.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING

from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import Document, NodeRelationship, RelatedNodeInfo, TextNode

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

SUPPORTED_TYPES = {
    ".pdf": "pdf", ".docx": "docx", ".txt": "txt", ".text": "txt", ".md": "markdown",
    ".markdown": "markdown", ".html": "html", ".htm": "html", ".csv": "csv", ".json": "json",
}
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
ROWS_PER_BLOCK = 25
EMBED_BATCH = 64
#: Metadata kept for citations but left out of the text that is embedded or sent to the model.
HIDDEN_KEYS = ["sha256", "file_type"]

Progress = Callable[[str, float], None]


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
    """The PDF has pages but no text layer (a scan without OCR)."""


class UnknownEncodingError(IngestError):
    """The text's encoding could not be determined with confidence."""


@dataclass
class ParsedFile:
    """The text of one file, split into located documents."""

    file_type: str
    documents: list[Document]
    pages: int
    warning: str | None = None


@dataclass
class ChunkedFile:
    """A parsed file cut into nodes that carry their embeddings once :func:`embed_nodes` ran."""

    parsed: ParsedFile
    nodes: list[TextNode] = field(default_factory=list)


def sha256_of(data: bytes) -> str:
    """The content hash that identifies a file."""
    return hashlib.sha256(data).hexdigest()


def file_type_of(filename: str) -> str:
    """The parser name for ``filename``, or :class:`UnsupportedTypeError`."""
    suffix = PurePath(filename).suffix.lower()
    if suffix not in SUPPORTED_TYPES:
        kinds = ", ".join(sorted({s.lstrip(".").upper() for s in ("pdf", "docx", "txt", "md",
                                                                   "html", "csv", "json")}))
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


def parse_file(filename: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedFile:
    """Parse ``data`` by the type ``filename`` names; raises :class:`IngestError` on bad input."""
    kind = check_upload(filename, data, max_bytes)
    parser = _PARSERS[kind]
    try:
        parsed = parser(filename, data)
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - each library fails in its own way on bad bytes
        raise CorruptFileError(
            f"{filename} could not be read as {kind.upper()} ({type(exc).__name__}: "
            f"{str(exc)[:120]}). The file may be damaged or not really a {kind.upper()} file."
        ) from exc
    parsed.documents = [d for d in parsed.documents if d.text.strip()]
    if not parsed.documents:
        raise EmptyFileError(f"{filename} contains no text to index.")
    for doc in parsed.documents:
        doc.metadata.update({"file_name": filename, "file_type": kind})
    return parsed


# --- text decoding --------------------------------------------------------------------------


def decode_text(filename: str, data: bytes) -> str:
    """UTF-8 (with or without BOM), else the encoding charset-normalizer is confident about."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is not None:  # on a tie, the most common legacy encoding of Western text wins
        ties = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
        best = next((m for m in ties if m.encoding == "cp1252"), best)
    if best is None or best.chaos > 0.1 or "\x00" in str(best):
        raise UnknownEncodingError(
            f"{filename}: the text encoding could not be recognised with confidence. Save the"
            " file as UTF-8 and upload it again."
        )
    return str(best)


# --- parsers ----------------------------------------------------------------------------------


def _parse_pdf(filename: str, data: bytes) -> ParsedFile:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not _try_empty_password(reader):
        raise EncryptedPdfError(
            f"{filename} is password-protected. Remove the password (e.g. print to a new PDF)"
            " and upload it again."
        )
    docs, blank = [], []
    for number, page in enumerate(reader.pages, start=1):
        text = (page.extract_text() or "").strip()
        if text:
            docs.append(Document(text=text, metadata={"page": number}))
        else:
            blank.append(number)
    if not reader.pages:
        raise EmptyFileError(f"{filename} has no pages.")
    if not docs:
        raise ScannedPdfError(
            f"{filename} has {len(reader.pages)} page(s) but no text layer: it looks like a"
            " scan. Run OCR on it (e.g. ocrmypdf) and upload the result."
        )
    warning = None
    if blank:
        warning = f"No extractable text on page(s) {_ranges(blank)} (scanned images?): skipped."
    return ParsedFile("pdf", docs, len(reader.pages), warning)


def _try_empty_password(reader: object) -> bool:
    try:
        return bool(reader.decrypt(""))  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - unsupported algorithms fail here too
        return False


def _parse_docx(filename: str, data: bytes) -> ParsedFile:
    import docx

    document = docx.Document(io.BytesIO(data))
    sections: list[tuple[str, list[str]]] = [("", [])]
    path: list[tuple[int, str]] = []
    for para in document.paragraphs:
        level = _docx_heading_level(para.style.name if para.style is not None else "")
        text = para.text.strip()
        if level and text:
            path = [p for p in path if p[0] < level] + [(level, text)]
            sections.append((" › ".join(t for _, t in path), []))
        elif text:
            sections[-1][1].append(text)
    for table in document.tables:
        rows = [" | ".join(c.text.strip() for c in row.cells) for row in table.rows]
        sections.append(("Table", rows))
    docs = [_section_doc(title, body) for title, body in sections if body]
    return ParsedFile("docx", docs, len(docs))


def _docx_heading_level(style: str) -> int:
    if style == "Title":
        return 1
    match = re.fullmatch(r"Heading (\d)", style)
    return int(match.group(1)) if match else 0


def _parse_txt(filename: str, data: bytes) -> ParsedFile:
    return ParsedFile("txt", [Document(text=decode_text(filename, data))], 1)


def _parse_markdown(filename: str, data: bytes) -> ParsedFile:
    sections = _split_headings(_markdown_blocks(decode_text(filename, data)))
    docs = [_section_doc(title, body) for title, body in sections if body]
    return ParsedFile("markdown", docs, len(docs))


def _markdown_blocks(text: str) -> Iterator[tuple[int, str]]:
    """(heading level, text) per line; level 0 for body lines, fenced code kept as body."""
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        match = None if fenced else re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
        yield (len(match.group(1)), match.group(2)) if match else (0, line)


def _parse_html(filename: str, data: bytes) -> ParsedFile:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(filename, data), "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    for tag in soup.find_all(re.compile(r"^h[1-6]$")):
        title = " ".join(tag.get_text(" ").split())
        tag.replace_with(f"\n\x00{tag.name[1]}\x00{title}\n")
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    blocks = (_html_line(line) for line in lines if line)
    docs = [_section_doc(t, b) for t, b in _split_headings(blocks) if b]
    return ParsedFile("html", docs, len(docs))


def _html_line(line: str) -> tuple[int, str]:
    if line.startswith("\x00"):
        _, level, title = line.split("\x00", 2)
        return int(level), title
    return 0, line


def _split_headings(blocks: Iterator[tuple[int, str]]) -> list[tuple[str, list[str]]]:
    """Group body lines under the heading path (``A › B``) they follow."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    path: list[tuple[int, str]] = []
    for level, text in blocks:
        if level:
            path = [p for p in path if p[0] < level] + [(level, text.strip())]
            sections.append((" › ".join(t for _, t in path), []))
        elif text.strip() or sections[-1][1]:
            sections[-1][1].append(text)
    return sections


def _parse_csv(filename: str, data: bytes) -> ParsedFile:
    text = decode_text(filename, data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise EmptyFileError(f"{filename} has a header but no data rows.")
    header, body = rows[0], rows[1:]
    docs = []
    for start in range(0, len(body), ROWS_PER_BLOCK):
        block = body[start : start + ROWS_PER_BLOCK]
        lines = ["; ".join(f"{h}: {v}" for h, v in zip(header, row)) for row in block]
        first, last = start + 2, start + 1 + len(block)  # row 1 is the header
        docs.append(Document(text="\n".join(lines), metadata={"section": f"rows {first}-{last}"}))
    return ParsedFile("csv", docs, len(docs))


def _parse_json(filename: str, data: bytes) -> ParsedFile:
    text = decode_text(filename, data)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptFileError(
            f"{filename} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
            " Fix the file and upload it again."
        ) from exc
    if isinstance(value, list):
        docs = []
        for start in range(0, len(value), ROWS_PER_BLOCK):
            block = value[start : start + ROWS_PER_BLOCK]
            body = "\n".join(json.dumps(item, ensure_ascii=False) for item in block)
            label = f"items {start + 1}-{start + len(block)}"
            docs.append(Document(text=body, metadata={"section": label}))
    elif isinstance(value, dict):
        docs = [
            Document(text=f"{key}: {json.dumps(item, ensure_ascii=False, indent=1)}",
                     metadata={"section": str(key)})
            for key, item in value.items()
        ]
    else:
        docs = [Document(text=json.dumps(value, ensure_ascii=False))]
    return ParsedFile("json", docs, len(docs))


def _section_doc(title: str, body: list[str]) -> Document:
    metadata = {"section": title} if title else {}
    return Document(text="\n".join(body).strip(), metadata=metadata)


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``1-3, 7``."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


_PARSERS: dict[str, Callable[[str, bytes], ParsedFile]] = {
    "pdf": _parse_pdf, "docx": _parse_docx, "txt": _parse_txt, "markdown": _parse_markdown,
    "html": _parse_html, "csv": _parse_csv, "json": _parse_json,
}


# --- chunking and embedding -------------------------------------------------------------------


def chunk_file(parsed: ParsedFile, sha256: str, chunk_size: int, chunk_overlap: int) -> ChunkedFile:
    """Cut a parsed file into nodes whose ``ref_doc_id`` is the file's hash."""
    splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    for doc in parsed.documents:
        doc.metadata["sha256"] = sha256
        doc.excluded_embed_metadata_keys = list(HIDDEN_KEYS)
        doc.excluded_llm_metadata_keys = list(HIDDEN_KEYS)
    nodes = splitter.get_nodes_from_documents(parsed.documents)
    source = RelatedNodeInfo(node_id=sha256)
    for number, node in enumerate(nodes):
        node.id_ = f"{sha256[:24]}-{number}"
        node.relationships = {NodeRelationship.SOURCE: source}
    return ChunkedFile(parsed, list(nodes))  # type: ignore[arg-type]


def embed_nodes(
    nodes: list[TextNode], embedder: BaseEmbedding, progress: Progress | None = None
) -> None:
    """Fill each node's embedding, in batches, reporting the fraction done."""
    from llama_index.core.schema import MetadataMode

    for start in range(0, len(nodes), EMBED_BATCH):
        batch = nodes[start : start + EMBED_BATCH]
        texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in batch]
        for node, vector in zip(batch, embedder.get_text_embedding_batch(texts)):
            node.embedding = vector
        if progress:
            progress("embed", min(1.0, (start + len(batch)) / len(nodes)))

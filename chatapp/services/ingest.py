"""Turn an uploaded file into embedded chunks: parse, chunk, embed.

Every parser returns LlamaIndex ``Document`` objects whose metadata says where the text came
from, so that an answer can cite it: ``page`` (1-based) for PDFs, ``section`` (the heading
path) for Markdown, HTML and DOCX, ``section`` = ``rows 2-26`` for CSV and ``items 1-25`` for
JSON arrays; ``ocr: True`` on PDF pages read with OCR. Bad input raises an :class:`IngestError`
subclass whose message a user can act on; nothing is written anywhere until a file has parsed,
chunked and embedded completely. The parsers live in ``parse_pdf``, ``parse_docx`` and
``parse_text`` (limits in ``parse_limits``); uploads are parsed in a capped worker process by
:func:`chatapp.services.parse_worker.parse_isolated`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import (
    Document,
    NodeRelationship,
    RelatedNodeInfo,
    TextNode,
)

from chatapp.services.parse_formats import (  # noqa: F401 - the names callers know
    DEFAULT_MAX_BYTES,
    ROWS_PER_BLOCK,
    SUPPORTED_TYPES,
    ParsedSections,
    check_upload,
    file_type_of,
    parse_sections,
)
from chatapp.services.parse_limits import (  # noqa: F401 - the names callers know
    CorruptFileError,
    EmptyFileError,
    EncryptedPdfError,
    FileTooLargeError,
    IngestCanceled,
    IngestError,
    LimitExceededError,
    ParseLimits,
    ParseMemoryError,
    ParseTimeoutError,
    ScannedPdfError,
    UnknownEncodingError,
    UnsupportedTypeError,
)
from chatapp.services.parse_text import decode_text  # noqa: F401

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

EMBED_BATCH = 64
#: Metadata kept for citations but left out of the text that is embedded or sent to the model.
HIDDEN_KEYS = ["sha256", "file_type", "ocr"]

Progress = Callable[[str, float], None]


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


def parse_file(
    filename: str,
    data: bytes,
    max_bytes: int = DEFAULT_MAX_BYTES,
    limits: ParseLimits | None = None,
) -> ParsedFile:
    """Parse ``data`` in this process; raises :class:`IngestError` on bad input.

    Uploads from the page go through :func:`chatapp.services.parse_worker.parse_isolated`
    instead, which runs this in a capped worker process.
    """
    return to_parsed_file(filename, parse_sections(filename, data, limits, None, max_bytes))


def to_parsed_file(filename: str, parsed: ParsedSections) -> ParsedFile:
    """LlamaIndex documents for a parser's sections, each naming its file and type."""
    documents = [
        Document(
            text=s.text,
            metadata={**s.metadata, "file_name": filename, "file_type": parsed.file_type},
        )
        for s in parsed.sections
    ]
    return ParsedFile(parsed.file_type, documents, parsed.pages, parsed.warning)


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

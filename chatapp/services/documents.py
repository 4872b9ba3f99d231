"""Document collections: create / rename / delete, add and remove files, Q&A history.

Adding a file: the cheap checks (type, size, empty) run first, then the file's SHA-256 is
looked up in the collection: a file already there is skipped without parsing or loading the
embedding model. Otherwise it is parsed, chunked and embedded in memory, its vectors written to
the collection's store, and only then is the file recorded in the database. A failure at any
step leaves the collection as it was. Uploads are staged in the database's queue and run by
the workers of :mod:`chatapp.services.upload_worker`, so that a big upload never holds up a
script run and a restart, or a replica that dies, loses none.

No Streamlit here: the page passes in the engine, the collection's store and an embedder
factory (both cached per process by ``chatapp.ui.documents_ui``).

Collections belong to the user who made them: every function takes the current user's id as
``owner`` (or a :class:`CollectionInfo`, which carries it) and treats another user's collection
exactly like a missing one. Files, vectors, staged uploads and questions live under their
collection, so scoping the collection scopes them.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from chatapp.services import embedders, ingest, page_view, user_errors
from chatapp.services.embedders import EmbedSpec
from chatapp.services.parse_worker import parse_isolated
from chatapp.storage import documents as repo
from chatapp.storage import originals as originals_repo
from chatapp.storage.db import init_db, make_engine, session_scope

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from sqlalchemy import Engine

    from chatapp.services.vector_store import NumpyVectorStore
    from chatapp.settings import AppConfig

EmbedderFactory = Callable[[], "BaseEmbedding"]
StageCallback = Callable[[str, float, str], None]
MAX_NAME = 200


class DocumentsError(Exception):
    """A request about collections that cannot be done as asked; the message says why."""


class IndexingCanceled(Exception):
    """A person canceled the file being indexed; nothing of it is kept."""


@dataclass(frozen=True)
class CollectionInfo:
    """A collection as the page shows it."""

    id: str
    name: str
    embed: EmbedSpec
    chunk_size: int
    chunk_overlap: int
    #: The user the collection belongs to.
    owner: str


@dataclass(frozen=True)
class FileInfo:
    """An indexed file as the page shows it."""

    sha256: str
    filename: str
    file_type: str
    size_bytes: int
    pages: int
    chunks: int
    warning: str | None


@dataclass
class FileOutcome:
    """What happened to one uploaded file."""

    filename: str
    status: str  # "indexed" | "skipped" | "failed" | "canceled"
    message: str
    sha256: str = ""
    pages: int = 0
    chunks: int = 0
    warning: str | None = None
    seconds: float = 0.0


def index_dir(data_dir: Path, collection_id: str) -> Path:
    """Where a collection's vectors live: ``<data_dir>/indexes/<collection id>``."""
    return Path(data_dir) / "indexes" / collection_id


def staging_dir(data_dir: Path, collection_id: str) -> Path:
    """Where uploads wait to be indexed: ``<data_dir>/staging/<collection id>``."""
    return Path(data_dir) / "staging" / collection_id


# --- collections ------------------------------------------------------------------------------


def _info(row: repo.Collection) -> CollectionInfo:
    spec = EmbedSpec(kind=row.embed_kind, model=row.embed_model)  # type: ignore[arg-type]
    return CollectionInfo(row.id, row.name, spec, row.chunk_size, row.chunk_overlap, row.owner)


def list_collections(engine: Engine, *, owner: str) -> list[CollectionInfo]:
    """``owner``'s collections, by name."""
    with session_scope(engine) as session:
        return [_info(row) for row in repo.list_collections(session, owner)]


def local_models_in_use(engine: Engine) -> list[str]:
    """The local embedding models that any user's collections use (to load them when the
    server starts); model names only, nothing of a collection."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(repo.Collection.embed_model)
            .distinct()
            .where(repo.Collection.embed_kind == "local")
        ).scalars()
        return sorted(set(rows))


def load_local_models_in_background(config: AppConfig) -> threading.Thread:
    """At server start: load every local model a collection uses, in a background thread."""

    def load() -> None:
        engine = make_engine(config.database_url)
        try:
            init_db(engine)
            models = local_models_in_use(engine)
        finally:
            engine.dispose()
        for model in models:
            embedders.preload_local(model)

    thread = threading.Thread(target=load, name="embedding-models-at-start", daemon=True)
    thread.start()
    return thread


def get_collection(engine: Engine, collection_id: str, *, owner: str) -> CollectionInfo | None:
    """``owner``'s collection, or None when it no longer exists (or is someone else's)."""
    with session_scope(engine) as session:
        row = repo.get_collection(session, collection_id, owner)
        return _info(row) if row else None


def _owned(session: Any, collection_id: str, owner: str) -> repo.Collection:
    row = repo.get_collection(session, collection_id, owner)
    if row is None:
        raise DocumentsError("This collection no longer exists.")
    return row


def _clean_name(engine: Engine, name: str, owner: str, exclude_id: str | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DocumentsError("Give the collection a name.")
    if len(name) > MAX_NAME:
        raise DocumentsError(f"Collection names are at most {MAX_NAME} characters.")
    with session_scope(engine) as session:
        existing = repo.find_collection_by_name(session, name, owner)
    if existing is not None and existing.id != exclude_id:
        raise DocumentsError(f"A collection named '{name}' already exists: pick another name.")
    return name


def create_collection(
    engine: Engine,
    name: str,
    embed: EmbedSpec,
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    *,
    owner: str,
    max_tokens: int | None = None,
) -> CollectionInfo:
    """Create an empty collection; its embedding model and chunking are fixed from now on.

    Chunks default to a size the model reads whole (:func:`embedders.default_chunk_size`);
    a chunk size over what the model reads is refused, since the rest of every chunk would
    never be embedded and could never be found. ``max_tokens`` is what a Baseten deployment
    reads, when the person knows better than the conservative default.
    """
    name = _clean_name(engine, name, owner)
    if not embed.model.strip():
        raise DocumentsError("Name the embedding model (a model id for Baseten embeddings).")
    embed = EmbedSpec(embed.kind, embed.model.strip())
    limit = embedders.max_input_tokens(embed, max_tokens)
    if chunk_size is None:
        chunk_size = embedders.default_chunk_size(limit)
    if chunk_overlap is None:
        chunk_overlap = embedders.default_chunk_overlap(chunk_size)
    if chunk_size < 64:
        raise DocumentsError("Chunk size must be at least 64 tokens.")
    if limit is not None and chunk_size > limit:
        raise DocumentsError(unreadable_chunks_message(embed, chunk_size, limit))
    if not 0 <= chunk_overlap < chunk_size:
        raise DocumentsError("Chunk overlap must be at least 0 and smaller than the chunk size.")
    with session_scope(engine) as session:
        row = repo.add_collection(
            session,
            owner=owner,
            name=name,
            embed_kind=embed.kind,
            embed_model=embed.model,
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
        )
        return _info(row)


def unreadable_chunks_message(embed: EmbedSpec, chunk_size: int, limit: int) -> str:
    """Why a chunk size over the model's input is refused, and what to pick instead."""
    where = (
        "If the deployment reads more, enter its input limit." if embed.kind == "baseten" else ""
    )
    return (
        f"{embed.model} reads at most {limit} tokens of each chunk, so the rest of a "
        f"{chunk_size}-token chunk would never be searched. Use chunks of {limit} tokens "
        f"or fewer ({embedders.default_chunk_size(limit)} leaves room for the file name "
        f"and page that are embedded with each chunk). {where}"
    ).strip()


def rename_collection(
    engine: Engine, collection_id: str, new_name: str, *, owner: str
) -> CollectionInfo:
    """Give one of ``owner``'s collections a new name (unique among theirs)."""
    with session_scope(engine) as session:
        _owned(session, collection_id, owner)
    name = _clean_name(engine, new_name, owner, exclude_id=collection_id)
    with session_scope(engine) as session:
        row = _owned(session, collection_id, owner)
        row.name = name
        return _info(row)


def delete_collection(engine: Engine, data_dir: Path, collection_id: str, *, owner: str) -> None:
    """Delete one of ``owner``'s collections: its files, history, vectors (its index
    directory), staged uploads and kept originals. Another user's id deletes nothing.

    Close the collection's cached store before calling this.
    """
    from chatapp.storage import upload_queue

    with session_scope(engine) as session:
        if repo.get_collection(session, collection_id, owner) is None:
            return
        upload_queue.delete_for_collection(session, collection_id)
        originals_repo.delete_for_collection(session, collection_id)
        repo.delete_collection(session, collection_id)
    shutil.rmtree(index_dir(data_dir, collection_id), ignore_errors=True)
    shutil.rmtree(staging_dir(data_dir, collection_id), ignore_errors=True)
    page_view.remove_collection_originals(data_dir, collection_id)


def set_embedding(engine: Engine, collection_id: str, embed: EmbedSpec, *, owner: str) -> None:
    """Record a collection's new embedding model (after its vectors were re-embedded)."""
    with session_scope(engine) as session:
        row = _owned(session, collection_id, owner)
        row.embed_kind, row.embed_model = embed.kind, embed.model


# --- files ------------------------------------------------------------------------------------


def list_files(engine: Engine, collection_id: str, *, owner: str) -> list[FileInfo]:
    """The indexed files of one of ``owner``'s collections (none of anyone else's)."""
    with session_scope(engine) as session:
        if repo.get_collection(session, collection_id, owner) is None:
            return []
        return [
            FileInfo(f.sha256, f.filename, f.file_type, f.size_bytes, f.pages, f.chunks, f.warning)
            for f in repo.list_files(session, collection_id)
        ]


def add_file(
    engine: Engine,
    collection: CollectionInfo,
    store: NumpyVectorStore,
    embedder: EmbedderFactory,
    filename: str,
    data: bytes,
    *,
    max_bytes: int = ingest.DEFAULT_MAX_BYTES,
    on_stage: StageCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    limits: ingest.ParseLimits | None = None,
) -> FileOutcome:
    """Index one file into ``collection``; never raises for bad input (see the outcome).

    The file is parsed in a capped worker process
    (:func:`~chatapp.services.parse_worker.parse_isolated`) within ``limits``.
    ``on_stage(stage, fraction, detail)`` hears about every parsed page and embedded batch
    (``detail`` carries the numbers, e.g. "128 of 300 chunks embedded"); it may raise
    :class:`IndexingCanceled`, as this does once ``should_cancel()`` turns true (the parse
    worker is stopped then): nothing of the file is kept.
    """
    started = time.perf_counter()
    steps = _Steps(on_stage or (lambda *_: None), should_cancel or (lambda: False))
    try:
        outcome = _add_file(
            engine, collection, store, embedder, filename, data, max_bytes, steps, limits
        )
    except (IndexingCanceled, ingest.IngestCanceled) as exc:
        raise IndexingCanceled(filename) from exc
    except Exception as exc:  # noqa: BLE001 - every failure becomes this file's message
        outcome = FileOutcome(filename, "failed", user_errors.describe(exc, context="indexing"))
    outcome.seconds = time.perf_counter() - started
    return outcome


#: Share of the progress bar for parsing; embedding takes the rest up to saving.
PARSE_SHARE, EMBED_END = 0.25, 0.97


@dataclass
class _Steps:
    """Progress reports with numbers, and the cancel check between them."""

    report: StageCallback
    should_cancel: Callable[[], bool]

    def __call__(self, stage: str, fraction: float, detail: str) -> None:
        if self.should_cancel():
            raise IndexingCanceled(detail)
        self.report(stage, fraction, detail)

    def pages(self, done: int, total: int) -> None:
        share = PARSE_SHARE * done / total if total else 0.0
        self("parse", share, f"{done} of {total} pages parsed")

    def chunks(self, done: int, total: int) -> None:
        share = PARSE_SHARE + (EMBED_END - PARSE_SHARE) * done / total if total else EMBED_END
        self("embed", share, f"{done} of {total} chunks embedded")


def _add_file(
    engine: Engine,
    collection: CollectionInfo,
    store: NumpyVectorStore,
    embedder: EmbedderFactory,
    filename: str,
    data: bytes,
    max_bytes: int,
    steps: _Steps,
    limits: ingest.ParseLimits | None = None,
) -> FileOutcome:
    steps("check", 0.0, "Checking")
    ingest.check_upload(filename, data, max_bytes)
    sha = ingest.sha256_of(data)
    duplicate = indexed_name(engine, collection.id, sha, owner=collection.owner)
    if duplicate is not None:
        return FileOutcome(filename, "skipped", duplicate_message(filename, duplicate), sha)
    steps("parse", 0.0, "Parsing")
    parsed = parse_isolated(
        filename,
        data,
        limits,
        max_bytes=max_bytes,
        on_progress=steps.pages,
        should_cancel=steps.should_cancel,
    )
    steps("chunk", PARSE_SHARE, f"Chunking {parsed.pages} page(s)/section(s)")
    chunked = ingest.chunk_file(parsed, sha, collection.chunk_size, collection.chunk_overlap)
    total = len(chunked.nodes)
    steps("embed", PARSE_SHARE, f"Loading the embedding model ({total} chunks to embed)")
    model = embedder()
    steps.chunks(0, total)
    ingest.embed_nodes(chunked.nodes, model, lambda _, f: steps.chunks(round(f * total), total))
    steps("save", EMBED_END, "Saving")
    store.delete(sha)  # vectors left by an earlier crash between the store and the database
    store.add(chunked.nodes)
    return _record(engine, collection, filename, data, sha, chunked)


def indexed_name(engine: Engine, collection_id: str, sha: str, *, owner: str) -> str | None:
    """The name of the collection's file with this content, or None when there is none (or
    the collection is not ``owner``'s)."""
    with session_scope(engine) as session:
        if repo.get_collection(session, collection_id, owner) is None:
            return None
        row = repo.find_file(session, collection_id, sha)
        return row.filename if row else None


def duplicate_message(filename: str, existing: str) -> str:
    """What the page says about an upload whose content is already indexed (as ``existing``)."""
    same = "" if existing == filename else f" (as {existing})"
    return f"Already in this collection{same}: identical content, nothing to do."


def _record(
    engine: Engine,
    collection: CollectionInfo,
    filename: str,
    data: bytes,
    sha: str,
    chunked: ingest.ChunkedFile,
) -> FileOutcome:
    parsed = chunked.parsed
    try:
        with session_scope(engine) as session:
            _owned(session, collection.id, collection.owner)
            repo.add_file(
                session,
                collection_id=collection.id,
                sha256=sha,
                filename=filename,
                file_type=parsed.file_type,
                size_bytes=len(data),
                pages=parsed.pages,
                chunks=len(chunked.nodes),
                warning=parsed.warning,
            )
    except IntegrityError:  # the same file finished in another tab a moment ago
        return FileOutcome(filename, "skipped", duplicate_message(filename, filename), sha)
    unit = "page" if parsed.file_type == "pdf" else "section"
    message = f"Indexed {parsed.pages} {unit}(s) into {len(chunked.nodes)} chunk(s)."
    return FileOutcome(
        filename, "indexed", message, sha, parsed.pages, len(chunked.nodes), parsed.warning
    )


def remove_file(
    engine: Engine, store: NumpyVectorStore, collection_id: str, sha256: str, *, owner: str
) -> None:
    """Remove a file of one of ``owner``'s collections: its vectors leave the index first,
    then its record and its kept original."""
    with session_scope(engine) as session:
        if repo.get_collection(session, collection_id, owner) is None:
            return
    store.delete(sha256)
    with session_scope(engine) as session:
        repo.delete_file(session, collection_id, sha256)
        originals_repo.delete(session, collection_id, sha256)


def reembed_collection(
    engine: Engine,
    collection_id: str,
    store: NumpyVectorStore,
    embedder: BaseEmbedding,
    embed: EmbedSpec,
    on_stage: StageCallback | None = None,
    *,
    owner: str,
) -> int:
    """Re-embed every stored chunk with a new model, then record it; returns the chunk count.

    Chunks are kept (text and metadata come from the store), so the original files are not
    needed. On any failure the store and the collection stay as they were.
    """
    stage = on_stage or (lambda *_: None)
    if get_collection(engine, collection_id, owner=owner) is None:
        raise DocumentsError("This collection no longer exists.")
    nodes = store.get_nodes()
    ingest.embed_nodes(nodes, embedder, lambda _, f: stage("embed", f, "Re-embedding"))  # type: ignore[arg-type]
    stage("save", 1.0, "Saving")
    store.clear()
    store.add(nodes)
    set_embedding(engine, collection_id, embed, owner=owner)
    return len(nodes)


# --- questions --------------------------------------------------------------------------------


def history(
    engine: Engine, collection_id: str, limit: int = 200, *, owner: str
) -> list[dict[str, Any]]:
    """The Q&A history of one of ``owner``'s collections, oldest first, as plain records
    (none of anyone else's)."""
    with session_scope(engine) as session:
        if repo.get_collection(session, collection_id, owner) is None:
            return []
        return [
            {
                "id": q.id,
                "question": q.question,
                "standalone": q.standalone_question,
                "answer": q.answer,
                "sources": q.sources or [],
                "retrieval_s": q.retrieval_s,
                "generation_s": q.generation_s,
                "model": q.model,
                "error": q.error,
            }
            for q in repo.list_questions(session, collection_id, limit)
        ]


def conversation(engine: Engine, collection_id: str, *, owner: str) -> list[tuple[str, str]]:
    """(question, answer) pairs for condensing follow-ups; failed answers left out."""
    return [
        (h["question"], h["answer"])
        for h in history(engine, collection_id, 20, owner=owner)
        if h["answer"] and not h["error"]
    ]


def record_question(engine: Engine, collection_id: str, *, owner: str, **fields: Any) -> None:
    """Store one question of ``owner`` with its answer, sources and timings."""
    with session_scope(engine) as session:
        _owned(session, collection_id, owner)
        repo.add_question(session, collection_id=collection_id, **fields)


def clear_history(engine: Engine, collection_id: str, *, owner: str) -> None:
    """Forget the questions of one of ``owner``'s collections."""
    with session_scope(engine) as session:
        if repo.get_collection(session, collection_id, owner) is not None:
            repo.clear_questions(session, collection_id)

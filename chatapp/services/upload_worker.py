"""What a queued upload becomes: its file indexed into its collection, by whichever replica
claimed it (:mod:`chatapp.services.ingest_queue`).

Uploads are staged in the database (``upload_queue``, the bytes in the row), so every replica
can read them and a restart or a dead replica loses none. Once its row is claimed, the file is
indexed with :func:`chatapp.services.documents.add_file` (parsed in a capped process, then
embedded with the collection's model); the outcome goes back into the row, the bytes are
dropped. Re-indexing a collection with another embedding model is queued the same way
(:func:`queue_reembed`), behind the collection's files.

Which key embeds for a Baseten embeddings collection: the one typed in the sidebar of the
session that queued the file, kept in that process's memory only (never in a row); when another
replica runs the file (its first one died), the server's own key (secrets or environment).

Upgrading from the version that staged uploads on disk (``<data_dir>/staging/<collection>/``,
bytes plus a JSON sidecar): :func:`import_disk_staging` moves what it finds into the queue once
per process: a waiting file is queued again ("resumed after a restart"), a failed one keeps
its message, one that was running when the server stopped is failed (it may be what stopped
it), and the folder is removed. PDF originals it kept on disk move into the database
(:func:`chatapp.services.originals.import_disk_originals`) at the same time.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from chatapp.services import documents as docs
from chatapp.services import embedders, ingest, originals
from chatapp.services.documents import FileOutcome
from chatapp.services.embedders import EmbedSpec
from chatapp.services.ingest_queue import (
    CANCELED_MESSAGE,
    RESUMED_NOTE,
    TAKEN_OVER_NOTE,
    Claimed,
    IngestJob,
    IngestWorker,
)
from chatapp.storage import upload_queue as rows
from chatapp.storage.db import init_db, make_engine, session_scope
from chatapp.storage.documents import Collection

__all__ = [
    "CANCELED_MESSAGE",
    "RESUMED_NOTE",
    "TAKEN_OVER_NOTE",
    "IngestJob",
    "IngestWorker",
    "Indexer",
    "import_disk_staging",
    "queue_reembed",
    "queue_uploads",
    "shared_worker",
]

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from chatapp.services.vector_store import NumpyVectorStore
    from chatapp.settings import AppConfig

EmbedderFor = Callable[[EmbedSpec, str | None], docs.EmbedderFactory]
REEMBED = "reembed"


@dataclass
class Indexer:
    """Runs claimed rows: the collection's store (one per collection and process) and
    embedder, the data directory, the parse limits."""

    data_dir: Path
    config: AppConfig | None = None
    limits: ingest.ParseLimits | None = None
    #: ``(spec, api key or None) -> embedder factory``; default: the process's loaded models.
    embedder_for: EmbedderFor | None = None
    #: The database: with PostgreSQL, stores are pgvector (else NumPy in the data directory).
    engine: Engine | None = None
    _stores: dict[str, NumpyVectorStore] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def store(self, collection_id: str, engine: Engine | None = None) -> NumpyVectorStore:
        """The collection's vector store, opened once per process (the page uses it too):
        pgvector when the database (``engine``, else this indexer's) is PostgreSQL."""
        from chatapp.services.vector_store import open_store

        with self._lock:
            if collection_id not in self._stores:
                directory = docs.index_dir(self.data_dir, collection_id)
                database = engine or self.engine
                self._stores[collection_id] = (
                    open_store(database, collection_id, directory)
                    if database is not None
                    else open_store_numpy(directory)
                )
            return self._stores[collection_id]

    def drop_store(self, collection_id: str) -> None:
        """Close and forget a collection's store (before its directory is deleted)."""
        with self._lock:
            store = self._stores.pop(collection_id, None)
        if store is not None:
            store.close()

    def embedder(self, spec: EmbedSpec, api_key: str | None) -> docs.EmbedderFactory:
        if self.embedder_for is not None:
            return self.embedder_for(spec, api_key)
        if spec.kind == "local":
            return lambda: embedders.local_embedder(spec.model)
        key = api_key or (self.config.api_key if self.config else None)
        return lambda: embedders.make_embedder(spec, self.config, key)

    def __call__(self, worker: IngestWorker, claimed: Claimed) -> FileOutcome:
        collection = docs.get_collection(worker.engine, claimed.collection_id, owner=claimed.owner)
        if collection is None:  # deleted meanwhile (or, never: queued by someone else)
            return FileOutcome(claimed.filename, "failed", "This collection no longer exists.")
        key = worker.session_keys.get(claimed.id)
        if claimed.kind == REEMBED:
            return self._reembed(worker.engine, collection, claimed, key)
        with session_scope(worker.engine) as session:
            data = rows.load_content(session, claimed.id)
        if data is None:
            return FileOutcome(
                claimed.filename,
                "failed",
                f"{claimed.filename}: its upload was lost. Upload it again.",
            )
        outcome = docs.add_file(
            worker.engine,
            collection,
            self.store(collection.id, worker.engine),
            self.embedder(collection.embed, key),
            claimed.filename,
            data,
            max_bytes=claimed.max_bytes or ingest.DEFAULT_MAX_BYTES,
            on_stage=claimed.update,
            should_cancel=claimed.cancel_requested,
            limits=self.limits,
        )
        if outcome.status == "indexed" and ingest.file_type_of(claimed.filename) == "pdf":
            originals.keep(worker.engine, collection.id, outcome.sha256, data, owner=claimed.owner)
        return outcome

    def _reembed(
        self, engine: Engine, collection: docs.CollectionInfo, claimed: Claimed, key: str | None
    ) -> FileOutcome:
        kind, _, model = (claimed.payload or "").partition(":")
        spec = EmbedSpec(kind, model)  # type: ignore[arg-type]
        count = docs.reembed_collection(
            engine,
            collection.id,
            self.store(collection.id, engine),
            self.embedder(spec, key)(),
            spec,
            claimed.update,
            owner=collection.owner,
        )
        return FileOutcome(
            claimed.filename, "indexed", f"Re-embedded {count} chunk(s) with {spec.label}."
        )


def open_store_numpy(directory: Path) -> NumpyVectorStore:
    from chatapp.services.vector_store import NumpyVectorStore

    return NumpyVectorStore(directory)


def owner_of(engine: Engine, collection_id: str) -> str | None:
    """Who owns a collection (for uploads an earlier version staged on disk), or None."""
    with session_scope(engine) as session:
        return session.scalar(select(Collection.owner).where(Collection.id == collection_id))


def queue_uploads(
    worker: IngestWorker,
    collection_id: str,
    uploads: list[tuple[str, bytes]],
    *,
    owner: str,
    max_bytes: int = ingest.DEFAULT_MAX_BYTES,
    api_key: str | None = None,
) -> list[int]:
    """Stage each ``(file name, bytes)`` upload for ``owner``'s collection; the row ids."""
    return worker.queue_files(
        collection_id, uploads, owner=owner, max_bytes=max_bytes, api_key=api_key
    )


def queue_reembed(
    worker: IngestWorker,
    collection_id: str,
    spec: EmbedSpec,
    *,
    owner: str,
    api_key: str | None = None,
) -> int:
    """Queue re-embedding ``owner``'s collection with ``spec`` behind its files."""
    return worker.queue_task(
        collection_id,
        REEMBED,
        f"Re-index with {spec.label}",
        f"{spec.kind}:{spec.model}",
        owner=owner,
        api_key=api_key,
    )


# --- one worker per process and database --------------------------------------------------------

_WORKERS: dict[tuple[str, str], IngestWorker] = {}
_WORKERS_LOCK = threading.Lock()


def shared_worker(config: AppConfig, engine: Engine | None = None) -> IngestWorker:
    """This process's worker for ``config``'s database and data directory, started."""
    key = (config.database_url, str(config.data_dir))
    with _WORKERS_LOCK:
        worker = _WORKERS.get(key)
        if worker is None:
            if engine is None:
                if config.database_url.startswith("sqlite:///"):
                    config.data_dir.mkdir(parents=True, exist_ok=True)
                engine = make_engine(config.database_url)
                init_db(engine)
            indexer = Indexer(config.data_dir, config, config.parse_limits, engine=engine)
            worker = IngestWorker(engine, indexer)
            import_disk_staging(worker, config.data_dir)
            originals.import_disk_originals(engine, config.data_dir)
            worker.start()
            _WORKERS[key] = worker
        return worker


def indexer_of(worker: IngestWorker) -> Indexer:
    """The indexer a worker runs (for its stores)."""
    run = worker._run
    if not isinstance(run, Indexer):
        raise TypeError("this worker does not run an Indexer")
    return run


def release_worker(worker: IngestWorker) -> None:
    """Stop a shared worker and forget it (tests that start over)."""
    with _WORKERS_LOCK:
        for key, known in list(_WORKERS.items()):
            if known is worker:
                del _WORKERS[key]
    worker.close()


def start_in_background(config: AppConfig) -> threading.Thread:
    """At server start: this replica's worker, so it takes queued files before anyone visits."""
    thread = threading.Thread(
        target=shared_worker, args=(config,), name="ingest-at-start", daemon=True
    )
    thread.start()
    return thread


# --- the on-disk staging of earlier versions ----------------------------------------------------


def interrupted_message(filename: str) -> str:
    """What a file that was being indexed when the server stopped says after the restart."""
    return (
        f"{filename}: the server stopped while this file was being indexed (the file may "
        "be what stopped it), so it was not tried again. Upload it again to retry."
    )


def import_disk_staging(worker: IngestWorker, data_dir: Path) -> int:
    """Move uploads staged on disk by an earlier version into the queue; how many."""
    root = Path(data_dir) / "staging"
    if not root.is_dir():
        return 0
    moved = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        owner = owner_of(worker.engine, folder.name)
        if owner is not None:
            moved += _import_folder(worker, folder, owner)
        shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    return moved


def _import_folder(worker: IngestWorker, folder: Path, owner: str) -> int:
    found = []
    for sidecar in folder.glob("*.json"):
        try:
            meta = json.loads(sidecar.read_text())
            found.append(
                (
                    float(meta["staged_at"]),
                    str(meta["filename"]),
                    str(meta.get("state", "queued")),
                    str(meta.get("message", "")),
                    sidecar.with_suffix(""),
                )
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue
    for _, filename, state, message, path in sorted(found):
        fields: dict[str, object] = {
            "collection_id": folder.name,
            "owner": owner,
            "filename": filename,
            "sha256": path.name,
        }
        if state == "running":
            state, message = "failed", interrupted_message(filename)
        if state == "failed":
            fields.update(
                state="done",
                status="failed",
                message=message,
                stage="done",
                fraction=1.0,
                detail=message,
                note="kept from before a restart",
            )
        elif path.is_file():
            data = path.read_bytes()
            fields.update(
                content=data,
                size_bytes=len(data),
                note=RESUMED_NOTE,
                detail=f"Queued again: {RESUMED_NOTE}",
            )
        else:
            continue
        with session_scope(worker.engine) as session:
            rows.enqueue(session, **fields)
    return len(found)

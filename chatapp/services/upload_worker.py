"""Uploads that survive a restart: staged on disk, then indexed by the background queue.

"Index files" stages each upload first: its bytes go to ``<data_dir>/staging/<collection
id>/<sha256>`` with a JSON sidecar (``<sha256>.json``: original file name, time staged, state,
message), each written under a temporary name and moved into place with ``os.replace``,
sidecar first. Only then is the file queued on the process's
:class:`~chatapp.services.ingest_queue.IngestWorker`, whose job reads the bytes back from
disk. The sidecar's state follows the file: ``queued``, ``running`` once a worker starts on
it, ``failed`` (the bytes are deleted and the message kept) when it could not be indexed. The
staged copy is deleted once the file's chunks and database row are committed, when it was
already in the collection, or when a person cancels it.

So a restart loses nothing and repeats no harm: the first time a process opens a collection
(:func:`resume_uploads`), every file still ``queued`` is queued again and marked as resumed;
one whose content is already indexed is removed; a ``failed`` one is listed with its message
(until dismissed) and never run again; and one that was ``running`` when the server stopped is
marked failed, not retried: it may be what took the server down.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from chatapp.services import documents as docs
from chatapp.services import ingest, page_view
from chatapp.services.documents import FileOutcome, IndexingCanceled
from chatapp.services.ingest_queue import KEPT_NOTE, RESUMED_NOTE, IngestJob, IngestWorker, Work

__all__ = ["KEPT_NOTE", "RESUMED_NOTE", "IngestJob", "IngestWorker", "StagedUpload",
           "UploadTarget", "queue_uploads", "reembed_work", "resume_uploads", "stage_upload",
           "staged_uploads", "staged_work"]

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from chatapp.services.embedders import EmbedSpec
    from chatapp.services.vector_store import NumpyVectorStore



# --- staging ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StagedUpload:
    """One upload on disk: its bytes (gone once failed) and its sidecar."""

    path: Path
    filename: str
    sha256: str
    staged_at: float
    state: str = "queued"  # "queued" | "running" | "failed"
    message: str = ""

    @property
    def sidecar(self) -> Path:
        return self.path.with_name(f"{self.sha256}.json")

    def read(self) -> bytes:
        return self.path.read_bytes()

    def remove(self) -> None:
        """Delete the bytes, then the sidecar (a lone sidecar is tidied by the next scan)."""
        self.path.unlink(missing_ok=True)
        self.sidecar.unlink(missing_ok=True)

    def mark(self, state: str, message: str = "") -> StagedUpload:
        """Record the file's new state in its sidecar; a failed file's bytes are deleted."""
        marked = replace(self, state=state, message=message)
        _write_atomically(self.sidecar, json.dumps(marked.meta()).encode())
        if state == "failed":
            self.path.unlink(missing_ok=True)
        return marked

    def meta(self) -> dict[str, object]:
        return {"filename": self.filename, "staged_at": self.staged_at, "state": self.state,
                "message": self.message}


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def stage_upload(data_dir: Path, collection_id: str, filename: str, data: bytes) -> StagedUpload:
    """Write one upload to the collection's staging folder and return where it is."""
    folder = docs.staging_dir(data_dir, collection_id)
    folder.mkdir(parents=True, exist_ok=True)
    sha = ingest.sha256_of(data)
    staged = StagedUpload(folder / sha, filename, sha, time.time())
    _write_atomically(staged.sidecar, json.dumps(staged.meta()).encode())
    _write_atomically(staged.path, data)
    return staged


def staged_uploads(data_dir: Path, collection_id: str) -> list[StagedUpload]:
    """The collection's staged files (failed ones too), oldest first; leftovers are deleted."""
    folder = docs.staging_dir(data_dir, collection_id)
    if not folder.is_dir():
        return []
    found: list[StagedUpload] = []
    for entry in folder.iterdir():
        if entry.name.startswith("."):  # a temporary file a crash left behind
            entry.unlink(missing_ok=True)
        elif entry.suffix == ".json":
            staged = _read_staged(entry.with_suffix(""))
            if staged is not None and (staged.state == "failed" or staged.path.exists()):
                found.append(staged)
            else:  # unreadable, or the sidecar of a file never written or being removed
                entry.unlink(missing_ok=True)
        elif not entry.with_name(f"{entry.name}.json").exists():
            entry.unlink(missing_ok=True)  # bytes whose sidecar is gone: being removed
    return sorted(found, key=lambda s: (s.staged_at, s.filename))


def _read_staged(path: Path) -> StagedUpload | None:
    try:
        meta = json.loads(path.with_name(f"{path.name}.json").read_text())
        return StagedUpload(path, str(meta["filename"]), path.name, float(meta["staged_at"]),
                            str(meta.get("state", "queued")), str(meta.get("message", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


# --- work for the queue -----------------------------------------------------------------------


@dataclass(frozen=True)
class UploadTarget:
    """Where uploads go: the collection, its store and embedder, the data directory."""

    engine: Engine
    collection: docs.CollectionInfo
    store: NumpyVectorStore
    embedder: docs.EmbedderFactory
    data_dir: Path
    max_bytes: int = ingest.DEFAULT_MAX_BYTES
    limits: ingest.ParseLimits | None = None  # None: the environment's (parse_limits.py)


def staged_work(target: UploadTarget, staged: StagedUpload, filename: str | None = None) -> Work:
    """Index a staged file; delete its staged copy, or keep only its failure, when done."""
    name = filename or staged.filename

    def work(job: IngestJob) -> FileOutcome:
        try:
            data = staged.read()
        except FileNotFoundError:  # another upload with the same content took it first
            return _consumed_twin(target, name, staged.sha256)
        running = staged.mark("running")
        try:
            outcome = docs.add_file(target.engine, target.collection, target.store,
                                    target.embedder, name, data, max_bytes=target.max_bytes,
                                    on_stage=job.update, should_cancel=job.cancel_requested,
                                    limits=target.limits)
        except IndexingCanceled:
            staged.remove()
            raise
        if outcome.status == "failed":
            running.mark("failed", outcome.message)
            return outcome
        if outcome.status == "indexed" and ingest.file_type_of(name) == "pdf":
            page_view.keep_original(target.data_dir, target.collection.id, outcome.sha256, data)
        staged.remove()
        return outcome

    return work


def _consumed_twin(target: UploadTarget, filename: str, sha: str) -> FileOutcome:
    existing = docs.indexed_name(target.engine, target.collection.id, sha,
                                 owner=target.collection.owner)
    if existing is not None:
        return FileOutcome(filename, "skipped", docs.duplicate_message(filename, existing), sha)
    return FileOutcome(filename, "failed", f"{filename}: has the same content as another "
                       "upload that just failed or was canceled (see its message).", sha)


def queue_uploads(
    worker: IngestWorker, target: UploadTarget, uploads: Iterable[tuple[str, bytes]]
) -> list[IngestJob]:
    """Stage each ``(file name, bytes)`` upload on disk, then queue it."""
    jobs = []
    for filename, data in uploads:
        staged = stage_upload(target.data_dir, target.collection.id, filename, data)
        jobs.append(worker.submit(target.collection.id, filename,
                                  staged_work(target, staged, filename), cleanup=staged.remove))
    return jobs


def interrupted_message(filename: str) -> str:
    """What a file that was being indexed when the server stopped says after the restart."""
    return (f"{filename}: the server stopped while this file was being indexed (the file may "
            "be what stopped it), so it was not tried again. Upload it again to retry.")


def resume_uploads(worker: IngestWorker, target: UploadTarget) -> list[IngestJob]:
    """Queue the collection's waiting staged files again (once per worker), list its failures.

    Already indexed ones are dropped; failed ones and the one that was running when the
    server stopped are listed as failed, never run again.
    """
    if not worker.claim_resume(target.collection.id):
        return []
    jobs = []
    cid = target.collection.id
    for staged in staged_uploads(target.data_dir, cid):
        if staged.state == "running":
            staged = staged.mark("failed", interrupted_message(staged.filename))
        if staged.state == "failed":
            outcome = FileOutcome(staged.filename, "failed", staged.message, staged.sha256)
            jobs.append(worker.add_finished(cid, outcome, resumed=True, cleanup=staged.remove))
        elif docs.indexed_name(target.engine, cid, staged.sha256,
                               owner=target.collection.owner) is not None:
            staged.remove()
        else:
            jobs.append(worker.submit(cid, staged.filename, staged_work(target, staged),
                                      resumed=True, cleanup=staged.remove))
    return jobs


def reembed_work(
    engine: Engine, collection_id: str, store: NumpyVectorStore,
    embedder: docs.EmbedderFactory, embed: EmbedSpec, *, owner: str,
) -> Work:
    """Re-embedding one of ``owner``'s collections as a queued job (the model loads on the
    worker)."""

    def work(job: IngestJob) -> FileOutcome:
        count = docs.reembed_collection(engine, collection_id, store, embedder(), embed,
                                        job.update, owner=owner)
        return FileOutcome("Re-index", "indexed", f"Re-embedded {count} chunk(s) with "
                           f"{embed.label}.")

    return work

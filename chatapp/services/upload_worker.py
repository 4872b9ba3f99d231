"""Uploads that survive a restart: staged on disk, indexed one at a time in the background.

"Index files" stages each upload first: its bytes go to ``<data_dir>/staging/<collection
id>/<sha256>`` with a JSON sidecar (``<sha256>.json``: original file name, time staged), each
written under a temporary name and moved into place with ``os.replace``, sidecar first. Only
then is the file queued on the process's :class:`IngestWorker`, whose job reads the bytes back
from disk. The staged copy is deleted once the file's chunks and database row are committed,
or once it has failed (its error is the job's outcome, shown by the page), or when the file
was already in the collection.

So a restart loses nothing: the first time a process opens a collection
(:func:`resume_uploads`), every staged file still there is queued again and marked as resumed;
one whose content is already indexed is simply removed.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatapp.services import documents as docs
from chatapp.services import ingest, page_view, user_errors
from chatapp.services.documents import FileOutcome, StageCallback

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from chatapp.services.embedders import EmbedSpec
    from chatapp.services.vector_store import NumpyVectorStore

Work = Callable[[StageCallback], FileOutcome]
RESUMED_NOTE = "resumed after a restart"


# --- staging ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StagedUpload:
    """One upload's bytes on disk, waiting to be indexed."""

    path: Path
    filename: str
    sha256: str
    staged_at: float

    @property
    def sidecar(self) -> Path:
        return self.path.with_name(f"{self.sha256}.json")

    def read(self) -> bytes:
        return self.path.read_bytes()

    def remove(self) -> None:
        """Delete the bytes, then the sidecar (a lone sidecar is tidied by the next scan)."""
        self.path.unlink(missing_ok=True)
        self.sidecar.unlink(missing_ok=True)


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
    meta = {"filename": filename, "staged_at": staged.staged_at}
    _write_atomically(staged.sidecar, json.dumps(meta).encode())
    _write_atomically(staged.path, data)
    return staged


def staged_uploads(data_dir: Path, collection_id: str) -> list[StagedUpload]:
    """The collection's staged files, oldest first; half-written leftovers are deleted."""
    folder = docs.staging_dir(data_dir, collection_id)
    if not folder.is_dir():
        return []
    found: list[StagedUpload] = []
    for entry in folder.iterdir():
        if entry.name.startswith("."):  # a temporary file a crash left behind
            entry.unlink(missing_ok=True)
        elif entry.suffix == ".json" and not entry.with_suffix("").exists():
            entry.unlink(missing_ok=True)  # sidecar of a file never written, or being removed
        elif entry.suffix != ".json":
            staged = _read_staged(entry)
            if staged is None:
                entry.unlink(missing_ok=True)
            else:
                found.append(staged)
    return sorted(found, key=lambda s: (s.staged_at, s.filename))


def _read_staged(path: Path) -> StagedUpload | None:
    try:
        meta = json.loads(path.with_name(f"{path.name}.json").read_text())
        return StagedUpload(path, str(meta["filename"]), path.name, float(meta["staged_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


# --- the worker -------------------------------------------------------------------------------


@dataclass
class IngestJob:
    """One queued file (or re-index) and its live progress."""

    id: int
    collection_id: str
    filename: str
    resumed: bool = False
    stage: str = "queued"
    fraction: float = 0.0
    detail: str = "Waiting for the files before it"
    outcome: FileOutcome | None = None

    @property
    def done(self) -> bool:
        return self.outcome is not None

    def update(self, stage: str, fraction: float, detail: str) -> None:
        """Progress callback for :func:`~chatapp.services.documents.add_file` and friends."""
        self.stage, self.fraction, self.detail = stage, fraction, detail


class IngestWorker:
    """A daemon thread that runs queued ingest work one job at a time, in submission order.

    One file at a time keeps memory flat (one parsed file and its vectors) and the embedding
    model (which already uses every core) uncontended. Jobs stay listed until dismissed.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[IngestJob, Work]] = queue.Queue()
        self._jobs: dict[int, IngestJob] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._resumed: set[str] = set()
        self._closed = threading.Event()

    def submit(self, collection_id: str, filename: str, work: Work, *,
               resumed: bool = False) -> IngestJob:
        """Queue ``work`` (called with the job's progress callback); returns the job."""
        job = IngestJob(next(self._ids), collection_id, filename, resumed)
        if resumed:
            job.detail = f"Queued again: {RESUMED_NOTE}"
        with self._lock:
            self._jobs[job.id] = job
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
                self._thread.start()
        self._queue.put((job, work))
        return job

    def claim_resume(self, collection_id: str) -> bool:
        """True the first time it is asked for a collection (resume its staged files then)."""
        with self._lock:
            first = collection_id not in self._resumed
            self._resumed.add(collection_id)
            return first

    def jobs(self, collection_id: str) -> list[IngestJob]:
        """The collection's jobs, oldest first."""
        with self._lock:
            return [j for j in self._jobs.values() if j.collection_id == collection_id]

    def busy(self, collection_id: str | None = None) -> bool:
        """True while any (or this collection's) job is queued or running."""
        with self._lock:
            return any(not j.done and collection_id in (None, j.collection_id)
                       for j in self._jobs.values())

    def dismiss(self, collection_id: str) -> None:
        """Forget the collection's finished jobs."""
        with self._lock:
            for job_id in [i for i, j in self._jobs.items()
                           if j.done and j.collection_id == collection_id]:
                del self._jobs[job_id]

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """Block until every job has finished (for tests and scripts); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.busy():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self) -> None:
        """Stop after the running job; queued work is left undone (its staged files stay)."""
        self._closed.set()

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                job, work = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if self._closed.is_set():
                return
            try:
                job.update("start", 0.0, "Starting")
                outcome = work(job.update)
            except Exception as exc:  # noqa: BLE001 - a job must never kill the worker
                outcome = FileOutcome(job.filename, "failed",
                                      user_errors.describe(exc, context="indexing"))
            job.outcome = outcome
            job.update("done", 1.0, outcome.message)


# --- work for the worker ----------------------------------------------------------------------


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
    """Index a staged file, then delete its staged copy whatever the outcome."""
    name = filename or staged.filename

    def work(on_stage: StageCallback) -> FileOutcome:
        try:
            data = staged.read()
        except FileNotFoundError:  # another upload with the same content took it first
            return _consumed_twin(target, name, staged.sha256)
        outcome = docs.add_file(target.engine, target.collection, target.store,
                                target.embedder, name, data, max_bytes=target.max_bytes,
                                on_stage=on_stage, limits=target.limits)
        if outcome.status == "indexed" and ingest.file_type_of(name) == "pdf":
            page_view.keep_original(target.data_dir, target.collection.id, outcome.sha256, data)
        staged.remove()
        return outcome

    return work


def _consumed_twin(target: UploadTarget, filename: str, sha: str) -> FileOutcome:
    existing = docs.indexed_name(target.engine, target.collection.id, sha)
    if existing is not None:
        return FileOutcome(filename, "skipped", docs.duplicate_message(filename, existing), sha)
    return FileOutcome(filename, "failed", f"{filename}: has the same content as another "
                       "upload that just failed (see its message).", sha)


def queue_uploads(
    worker: IngestWorker, target: UploadTarget, uploads: Iterable[tuple[str, bytes]]
) -> list[IngestJob]:
    """Stage each ``(file name, bytes)`` upload on disk, then queue it."""
    jobs = []
    for filename, data in uploads:
        staged = stage_upload(target.data_dir, target.collection.id, filename, data)
        jobs.append(worker.submit(target.collection.id, filename,
                                  staged_work(target, staged, filename)))
    return jobs


def resume_uploads(worker: IngestWorker, target: UploadTarget) -> list[IngestJob]:
    """Queue the collection's staged files again (once per worker); drop indexed ones."""
    if not worker.claim_resume(target.collection.id):
        return []
    jobs = []
    for staged in staged_uploads(target.data_dir, target.collection.id):
        if docs.indexed_name(target.engine, target.collection.id, staged.sha256) is not None:
            staged.remove()
            continue
        jobs.append(worker.submit(target.collection.id, staged.filename,
                                  staged_work(target, staged), resumed=True))
    return jobs


def reembed_work(
    engine: Engine, collection_id: str, store: NumpyVectorStore,
    embedder: docs.EmbedderFactory, embed: EmbedSpec,
) -> Work:
    """Re-embedding as a job for :class:`IngestWorker` (the model loads on the worker)."""

    def work(on_stage: StageCallback) -> FileOutcome:
        count = docs.reembed_collection(engine, collection_id, store, embedder(), embed,
                                        on_stage)
        return FileOutcome("Re-index", "indexed", f"Re-embedded {count} chunk(s) with "
                           f"{embed.label}.")

    return work

"""Parse uploads in a separate process that can die without taking the server with it.

:func:`parse_isolated` hands one file to a worker process and waits for its sections. The
worker caps its own address space (``resource.setrlimit(RLIMIT_AS)``, the
``BASETEN_CHAT_PARSE_MEMORY_MB`` setting) before it reads anything, so a file that still
explodes past every parse limit fails a memory allocation, or is killed, in the worker only.
The caller's thread watches the clock (``BASETEN_CHAT_PARSE_TIMEOUT_S``) and ``should_cancel``
while it waits, and kills the worker when either says so. Pages parsed are reported back as
they happen (``on_progress(pages_done, pages_total)``, PDFs).

Workers are new interpreters (``python -m chatapp.services.parse_worker``: no copy of the
server's threads, model or locks, and no re-run of its main script) kept for the next file, so only the first file pays the start-up. A
worker that failed, was killed, or grew large is not reused. The worker imports only the
parsers (PDFium, lxml, Tesseract's wrapper), not LlamaIndex or torch.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatapp.services import parse_limits
from chatapp.services.parse_limits import (
    MB,
    IngestCanceled,
    IngestError,
    ParseLimits,
    ParseMemoryError,
    ParseTimeoutError,
)

if TYPE_CHECKING:
    from chatapp.services.ingest import ParsedFile

POLL_S = 0.05
MAX_IDLE_WORKERS = 2
RECYCLE_RSS_MB = 400  # a worker that grew past this after a file is replaced

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_idle: list[_Worker] = []
_idle_lock = threading.Lock()


def parse_isolated(
    filename: str,
    source: bytes | Path,
    limits: ParseLimits | None = None,
    *,
    max_bytes: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ParsedFile:
    """Parse one upload (its bytes, or the path of its staged copy) in a worker process.

    Raises the same :class:`IngestError` s as :func:`chatapp.services.ingest.parse_file`, plus
    :class:`ParseMemoryError` (the worker needed more than ``limits.memory_mb``),
    :class:`ParseTimeoutError` (longer than ``limits.timeout_s``) and :class:`IngestCanceled`
    (``should_cancel()`` returned true; checked every 50 ms). Either of the last three kills
    the worker.
    """
    from chatapp.services import ingest

    limits = limits or ParseLimits.from_lookup(os.environ.get)
    if isinstance(source, bytes):
        ingest.check_upload(filename, source, max_bytes or ingest.DEFAULT_MAX_BYTES)
        data: bytes | None = source
        request = {"filename": filename, "limits": limits, "max_bytes": max_bytes, "path": None}
    else:  # the worker reads the staged copy itself: no copy of the file in this process
        ingest.file_type_of(filename)
        data = None
        request = {
            "filename": filename,
            "limits": limits,
            "max_bytes": max_bytes,
            "path": str(Path(source).resolve()),
        }
    worker = _checkout()
    try:
        try:
            worker.send(request, data)
        except (BrokenPipeError, EOFError, OSError):  # an idle worker died: use a fresh one
            worker.kill()
            worker = _Worker()
            with contextlib.suppress(OSError):  # it died at once too: _wait reports how
                worker.send(request, data)
        del data
        parsed = _wait(worker, filename, limits, on_progress, should_cancel)
    except (ParseMemoryError, ParseTimeoutError, IngestCanceled):
        raise  # the worker is gone already
    except IngestError:
        _checkin(worker)  # the file was refused; the worker is fine
        raise
    except BaseException:
        worker.kill()
        raise
    _checkin(worker)
    return ingest.to_parsed_file(filename, parsed)


def _wait(
    worker: _Worker,
    filename: str,
    limits: ParseLimits,
    on_progress: Callable[[int, int], None] | None,
    should_cancel: Callable[[], bool] | None,
) -> Any:
    deadline = time.monotonic() + limits.timeout_s
    while True:
        if should_cancel is not None and should_cancel():
            worker.kill()
            raise IngestCanceled(f"{filename}: canceled before it was read.")
        if time.monotonic() > deadline:
            worker.kill()
            raise ParseTimeoutError(
                f"Reading {filename} stopped: it took longer than {limits.timeout_s} s"
                f" (limit {limits.timeout_s} s). Split it into smaller files, or raise"
                f" {limits.setting('timeout_s')}."
            )
        message = worker.receive(POLL_S)
        if message is None:
            continue
        kind = message[0]
        if kind == "progress" and on_progress is not None:
            on_progress(message[1], message[2])
        elif kind == "result":
            worker.recycle = message[2]
            return message[1]
        elif kind == "error":
            worker.recycle = message[3]
            raise _error_class(message[1])(message[2])
        elif kind == "ready":
            worker.started = True
        elif kind == "died" and not worker.started:
            worker.kill()
            raise IngestError(
                f"{filename} could not be read: the file reader process did not start. This is"
                " a problem with the installation, not with the file; the server log says more."
            )
        elif kind in ("memory", "died"):
            worker.kill()
            raise ParseMemoryError(
                f"Reading {filename} stopped: it needed more than {limits.memory_mb} MB of"
                f" memory (limit {limits.memory_mb} MB)"
                + (" or it crashed the reader" if kind == "died" else "")
                + f". Split it into smaller files, or raise {limits.setting('memory_mb')}."
            )


def _error_class(name: str) -> type[IngestError]:
    found = getattr(parse_limits, name, None)
    if isinstance(found, type) and issubclass(found, IngestError):
        return found
    return IngestError


# --- the parent's handle on one worker --------------------------------------------------------


class _Worker:
    """One worker process (``python -m chatapp.services.parse_worker``) and a socket to it."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        env = dict(os.environ)  # the worker imports the same chatapp as this process
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "chatapp.services.parse_worker", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=env,
            )
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.recycle = False
        self.started = False  # True once the worker said it is ready

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None and not self.conn.closed

    def send(self, request: dict[str, Any], data: bytes | None) -> None:
        self.conn.send(request)
        if data is not None:
            self.conn.send_bytes(data)  # no pickled copy of the file in this process

    def receive(self, timeout: float) -> tuple[Any, ...] | None:
        """The next message, None if none came in ``timeout``, ("died",) if the worker died."""
        try:
            if self.conn.poll(timeout):
                return self.conn.recv()
        except (EOFError, OSError):
            return ("died",)
        if self.process.poll() is not None:
            return ("died",)
        return None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self.conn.close()


def _checkout() -> _Worker:
    with _idle_lock:
        while _idle:
            worker = _idle.pop()
            if worker.alive():
                return worker
            worker.kill()
    return _Worker()


def _checkin(worker: _Worker) -> None:
    with _idle_lock:
        if worker.alive() and not worker.recycle and len(_idle) < MAX_IDLE_WORKERS:
            _idle.append(worker)
            return
    worker.kill()


def warm_up() -> None:
    """Start one idle worker now, so the first upload does not wait for it."""
    with _idle_lock:
        if _idle:
            return
    _checkin(_Worker())


def shutdown() -> None:
    """Stop the idle workers (tests, and a clean exit)."""
    with _idle_lock:
        workers, _idle[:] = list(_idle), []
    for worker in workers:
        worker.kill()


def idle_worker_pids() -> list[int]:
    """The process ids of the idle workers (for tests and benchmarks)."""
    with _idle_lock:
        return [w.pid for w in _idle if w.pid is not None]


# --- the worker process -----------------------------------------------------------------------


def serve(conn: Connection) -> None:
    """The worker's loop: one request at a time, under the request's memory cap."""
    import resource

    from chatapp.services import parse_formats

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # Tesseract: one core per page, not all
    conn.send(("ready",))

    while True:
        try:
            request = conn.recv()
            data = conn.recv_bytes() if request["path"] is None else b""
        except (EOFError, OSError):
            return
        limits: ParseLimits = request["limits"]
        cap = limits.memory_mb * MB
        resource.setrlimit(resource.RLIMIT_AS, (cap, resource.RLIM_INFINITY))
        try:
            try:
                if request["path"] is not None:
                    data = Path(request["path"]).read_bytes()
                parsed = parse_formats.parse_sections(
                    request["filename"],
                    data,
                    limits,
                    lambda done, total: conn.send(("progress", done, total)),
                    request["max_bytes"] or parse_formats.DEFAULT_MAX_BYTES,
                )
            finally:
                del data
            conn.send(("result", parsed, _grown()))
            del parsed
        except IngestError as exc:
            conn.send(("error", type(exc).__name__, str(exc), _grown()))
        except OSError:
            message = (
                f"{request['filename']}: the uploaded copy could not be read back from"
                " disk. Upload it again."
            )
            conn.send(("error", "IngestError", message, False))
        except MemoryError:
            _report_and_exit(conn)


def _grown() -> bool:
    """True when this worker holds more memory than is worth keeping for the next file."""
    try:
        with open("/proc/self/statm") as statm:
            resident_pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return False
    return resident_pages * os.sysconf("SC_PAGE_SIZE") > RECYCLE_RSS_MB * MB


def _report_and_exit(conn: Connection) -> None:
    try:
        conn.send(("memory",))
    finally:
        os._exit(1)


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))

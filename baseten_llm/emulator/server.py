"""Serve the emulator with uvicorn: in-process on a background thread (tests), or on a real
socket from the command line. Both use the same backend and app."""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from .app import create_app
from .backend import EmulatorBackend
from .config import EmulatorConfig
from .streams import is_stream_cut


class _HideStreamCuts(logging.Filter):
    """Injected stream cuts are on purpose; keep their tracebacks out of the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and is_stream_cut(record.exc_info[1]))


def quiet_stream_cuts() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideStreamCuts) for f in logger.filters):
        logger.addFilter(_HideStreamCuts())


def uvicorn_config(backend: EmulatorBackend, **kwargs: Any) -> uvicorn.Config:
    quiet_stream_cuts()
    return uvicorn.Config(
        create_app(backend), lifespan="off", server_header=False, access_log=False, **kwargs
    )


class EmulatorServer:
    """A running emulator. Use `EmulatorServer.start(...)`, as a context manager or with
    `stop()`. The helpers call the `/_emulator/` control endpoints."""

    def __init__(
        self,
        backend: EmulatorBackend,
        server: uvicorn.Server,
        thread: threading.Thread,
        port: int,
        host: str,
    ) -> None:
        self.backend, self._server, self._thread = backend, server, thread
        self.base_url = f"http://{host}:{port}"
        self.model_apis_url = self.base_url + "/v1"
        self.deployment_url = self.base_url + "/model-{model_id}"
        self.api_key = backend.initial_config.api_keys[0]
        self._control = httpx.Client(
            base_url=self.base_url + "/_emulator", timeout=10, trust_env=False
        )

    @classmethod
    def start(
        cls, config: EmulatorConfig | None = None, port: int = 0, host: str = "127.0.0.1"
    ) -> EmulatorServer:
        """Serve on host:port (a free port when 0) in a daemon thread; return once it answers."""
        backend = EmulatorBackend(config)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        server = uvicorn.Server(uvicorn_config(backend, log_config=None, log_level=None))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="baseten-emulator", daemon=True
        )
        thread.start()
        emulator = cls(backend, server, thread, sock.getsockname()[1], host)
        emulator._wait_until_up()
        return emulator

    def _wait_until_up(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._server.started:
                try:
                    self._control.get(self.base_url + "/")
                    return
                except httpx.TransportError:
                    pass
            if not self._thread.is_alive():
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"the emulator did not start on {self.base_url}")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=5)
        self._control.close()

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        response = self._control.request(method, path, json=payload)
        if response.status_code >= 400:
            raise ValueError(f"emulator control {path}: {response.text}")
        return response.json()

    def requests(self) -> list[dict[str, Any]]:
        """The request log (inference routes only)."""
        return self._call("GET", "/requests")

    def reset(self) -> None:
        self._call("POST", "/reset")

    def configure(self, **changes: Any) -> dict[str, Any]:
        return self._call("POST", "/config", changes)

    def fault(self, **fault: Any) -> list[dict[str, Any]]:
        return self._call("POST", "/faults", fault)

    def capacity(self) -> dict[str, Any]:
        """Streams in flight per model, the most at once, and capacity 429s given."""
        return self._call("GET", "/capacity")

    def webhooks(self) -> list[dict[str, Any]]:
        return self._call("GET", "/webhooks")

    def jobs(self) -> list[dict[str, Any]]:
        return self._call("GET", "/jobs")

    def release_jobs(self) -> int:
        return self._call("POST", "/jobs/release")["released"]

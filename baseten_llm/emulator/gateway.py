"""The ASGI layer in front of every inference route: records the request in the log, checks
the API key (401 before anything else), applies the `rpm` limit and queued status faults, and
labels every response as coming from the emulator. Control routes (`/_emulator/`) and `/` pass
straight through, unlogged and without auth."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .backend import EmulatorBackend
from .errors import error_response

SERVER_HEADER = b"baseten-api-emulator (test double, not Baseten)"


class Gateway:
    def __init__(self, app: ASGIApp, backend: EmulatorBackend) -> None:
        self.app, self.backend = app, backend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        labelled = _label(send)
        if path == "/" or path.startswith("/_emulator"):
            return await self.app(scope, receive, labelled)
        body = await _read_body(receive)
        entry = self.backend.record(_log_entry(scope, body))
        scope.setdefault("state", {}).update(log_entry=entry, raw_body=body)

        async def recorded(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await labelled(message)

        replay = _replay(body, receive)
        rejection = self._gate(scope, path)
        await (rejection or self.app)(scope, replay, recorded)

    def _gate(self, scope: Scope, path: str) -> Any:
        """A response that refuses the request (401, 429, injected fault), or None."""
        if not self._authorized(scope):
            return error_response(
                path,
                401,
                "Missing or invalid API key. Send "
                "'Authorization: Bearer <key>' or 'Authorization: Api-Key <key>'.",
            )
        retry_after = self.backend.rate_limit_retry_after()
        if retry_after is not None:
            return error_response(
                path,
                429,
                "Rate limit exceeded (emulator rpm setting).",
                headers={"Retry-After": str(retry_after)},
            )
        fault = self.backend.take_fault("status", path)
        if fault is None:
            return None
        headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else None
        return error_response(
            path,
            int(fault["status"]),
            fault.get("message", f"Injected fault: HTTP {fault['status']}."),
            headers=headers,
        )

    def _authorized(self, scope: Scope) -> bool:
        raw = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, key = raw.strip().partition(" ")
        return (
            scheme.lower() in ("bearer", "api-key") and key.strip() in self.backend.config.api_keys
        )


def _label(send: Send) -> Send:
    async def labelled(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), (b"server", SERVER_HEADER)]
        await send(message)

    return labelled


async def _read_body(receive: Receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Give the app the body already read, then the real receive (to see disconnects)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


def _log_entry(scope: Scope, body: bytes) -> dict[str, Any]:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    headers.pop("authorization", None)
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    return {
        "method": scope["method"],
        "path": scope["path"],
        "query": dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))),
        "headers": headers,
        "body": parsed,
        "body_size": len(body),
        "status": None,
        "stream_closed_early": False,
        "stream_cut": False,
        "time": time.time(),
    }

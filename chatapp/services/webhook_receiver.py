"""The receiver for Baseten's async-result webhooks: ``POST /hooks/baseten``, a Starlette route.

``app.py`` mounts :func:`webhook_routes` on ``st.App``, so the UI and the receiver share one
port. Baseten keeps no copy of a result, so the receiver:

1. refuses bodies over :data:`MAX_BODY_BYTES` (413), judged by ``Content-Length`` and by the
   bytes actually read, and a body that has not arrived whole within :data:`BODY_TIMEOUT_S`
   (408: a stalled sender cannot hold a connection forever; uvicorn, which Streamlit serves
   the route with, has no body timeout of its own);
2. verifies ``X-BASETEN-SIGNATURE`` against every configured secret (rotation) and the body's
   ``time`` against :data:`TOLERANCE_S` (401); with no secret it refuses everything unless
   ``allow_unsigned_webhooks`` is on (development only);
3. refuses a body that is not Baseten's JSON or that the app could not store and show (400):
   not UTF-8, not a JSON object, ``data`` nested deeper than
   :data:`~chatapp.services.bounded_json.MAX_DEPTH`, a number that is not finite, text that is
   not valid Unicode (a lone surrogate such as ``"\\ud800"``);
4. commits the result (``INSERT ... ON CONFLICT DO NOTHING`` on ``request_id``) and only then
   answers 200, so a crash after the answer loses nothing and a second delivery changes nothing.

A refused request stores nothing and logs one line: the status, the reason and the
``X-BASETEN-REQUEST-ID`` header, never a secret or the body. On SQLite the receiver's own
connections use ``synchronous=FULL`` so a commit survives power loss, not just a crash.

In the offline demo the bundled emulator, served in this same process, signs its deliveries
with :func:`demo_webhook_secret`, a secret generated for this process that nothing else knows;
the receiver accepts it alongside the configured ones, so the demo needs no setup.

Each refusal is remembered for a while (:func:`recent_refusal`, by the request id the sender
named) in words a person can read, so the Jobs page can say why a delivery failed.

The process's receiver, with the app's configuration and an engine of its own
(:func:`make_receiver_engine`), is a resource (``chatapp.resources.get_webhook_receiver``)
built on the first request; :func:`make_webhook_app` builds a standalone app with injected
ones for tests.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets as secrets_module
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from baseten_llm import errors
from baseten_llm.webhooks import SIGNATURE_HEADER, verify_webhook
from chatapp.services.bounded_json import JSONLimitError, check_value, loads_bounded
from chatapp.settings import WEBHOOK_PATH, AppConfig
from chatapp.storage import jobs as store
from chatapp.storage.db import init_db, make_engine, session_scope

logger = logging.getLogger("chatapp.webhooks")

MAX_BODY_BYTES = 10 * 1024 * 1024
TOLERANCE_S = 300.0
#: Seconds a sender has to deliver the whole body once its headers arrived.
BODY_TIMEOUT_S = 30.0
_SAFE_ID = re.compile(r"[^A-Za-z0-9_-]")
_NO_SECRET = "no webhook secret configured; set BASETEN_WEBHOOK_SECRETS"


class Rejected(Exception):
    """A delivery that is refused with ``status`` and a short public ``reason``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    @property
    def words(self) -> str:
        """Why, for the person reading the Jobs table."""
        if self.status == 401 and "no webhook secret" in self.reason:
            return "no webhook secret set"
        if self.status == 401 and "sent" in self.reason:
            return "it was signed too long ago, or this server's clock is wrong"
        if self.status == 401:
            return "its signature did not match this app's webhook secrets"
        if self.status == 413:
            return f"the result is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB"
        if self.status == 408:
            return "the result did not arrive in time"
        return f"it could not be stored: {self.reason}"


# --- the offline demo's secret and the memory of refusals ---------------------------------

_DEMO_SECRET: str | None = None
_REFUSALS: OrderedDict[str, str] = OrderedDict()
_MAX_REFUSALS = 1000
_SHARED_LOCK = threading.Lock()


def demo_webhook_secret() -> str:
    """The secret this process's offline-demo emulator signs with, generated on first use."""
    global _DEMO_SECRET
    with _SHARED_LOCK:
        if _DEMO_SECRET is None:
            _DEMO_SECRET = "whsec_" + secrets_module.token_urlsafe(30)
        return _DEMO_SECRET


def _accepted_secrets(config: AppConfig) -> tuple[str, ...]:
    with _SHARED_LOCK:
        demo = (_DEMO_SECRET,) if _DEMO_SECRET else ()
    return tuple(config.webhook_secrets) + demo


def _remember_refusal(request_id: str, words: str) -> None:
    if not request_id:
        return
    with _SHARED_LOCK:
        _REFUSALS[request_id] = words
        _REFUSALS.move_to_end(request_id)
        while len(_REFUSALS) > _MAX_REFUSALS:
            _REFUSALS.popitem(last=False)


def recent_refusal(request_id: str) -> str | None:
    """Why this process's receiver last refused a delivery for ``request_id``, if it did."""
    with _SHARED_LOCK:
        return _REFUSALS.get(request_id)


@dataclass(frozen=True)
class Delivery:
    """A verified (or, in development, an accepted unsigned) delivery, ready to store."""

    request_id: str
    model_id: str | None
    deployment_id: str | None
    sent_time: str | None
    data: Any
    errors: Any
    signed: bool


class WebhookReceiver:
    """Verifies and stores deliveries; :meth:`handle` is the route's endpoint."""

    def __init__(
        self,
        config: AppConfig,
        engine: Engine,
        *,
        tolerance_s: float = TOLERANCE_S,
        max_body_bytes: int = MAX_BODY_BYTES,
        body_timeout_s: float = BODY_TIMEOUT_S,
        clock: Callable[[], Any] | None = None,
    ):
        self.config = config
        self.engine = engine
        self.tolerance_s = tolerance_s
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self._clock = clock
        # SQLite has one writer at a time; queueing our own threads on a lock is far cheaper
        # than letting them collide and sleep in SQLite's busy handler.
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None

    async def handle(self, request: Request) -> JSONResponse:
        """Answer one delivery: 200 once stored (or already stored), 4xx when refused."""
        header_id = _SAFE_ID.sub("", request.headers.get("x-baseten-request-id", ""))[:64]
        try:
            body = await self._read_body(request)
            delivery = self.verify(body, request.headers.get(SIGNATURE_HEADER))
            stored = await run_in_threadpool(self.store, delivery, body)
        except Rejected as exc:
            logger.warning(
                "webhook refused: %s %s (request id header %r)", exc.status, exc.reason, header_id
            )
            _remember_refusal(header_id, exc.words)
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        logger.info(
            "webhook %s for request %s",
            "stored" if stored else "duplicate ignored",
            delivery.request_id,
        )
        return JSONResponse({"request_id": delivery.request_id, "stored": stored})

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise Rejected(413, f"body over {self.max_body_bytes} bytes")
        try:  # asyncio.timeout() is Python 3.11+; wait_for works on 3.10 too
            body = await asyncio.wait_for(self._read_chunks(request), self.body_timeout_s)
        except asyncio.TimeoutError:
            raise Rejected(
                408, f"the body did not arrive within {self.body_timeout_s:g} s"
            ) from None
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise Rejected(400, "the body is not UTF-8 JSON") from None
        return body

    async def _read_chunks(self, request: Request) -> bytes:
        chunks, size = [], 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise Rejected(413, f"body over {self.max_body_bytes} bytes")
                chunks.append(chunk)
        except ClientDisconnect:
            raise Rejected(400, "client disconnected before sending the whole body") from None
        return b"".join(chunks)

    def verify(self, body: bytes, signature_header: str | None) -> Delivery:
        """Check signature, time and shape; raise :class:`Rejected` for anything else."""
        configured = bool(self.config.webhook_secrets)
        secrets = _accepted_secrets(self.config)
        if not configured and (not secrets or not signature_header):
            if not self.config.allow_unsigned_webhooks:
                raise Rejected(401, _NO_SECRET)
            return _unsigned_delivery(body)
        try:
            payload = verify_webhook(
                body,
                signature_header,
                secrets,
                tolerance_s=self.tolerance_s,
                now=self._clock() if self._clock else None,
            )
        except errors.WebhookPayloadError as exc:
            raise Rejected(400, _first_sentence(exc)) from None
        except errors.WebhookSignatureError as exc:
            # Only the demo's own secret is known: a real delivery fails for want of a secret.
            raise Rejected(401, _first_sentence(exc) if configured else _NO_SECRET) from None
        except errors.WebhookVerificationError as exc:
            raise Rejected(401, _first_sentence(exc)) from None
        except RecursionError:  # signed, but nested past what the parser can read
            raise Rejected(400, "the body is nested too deeply") from None
        return _storable(
            Delivery(
                request_id=_checked_id(payload.request_id),
                model_id=payload.model_id,
                deployment_id=payload.deployment_id,
                sent_time=payload.time.isoformat(),
                data=payload.data,
                errors=list(payload.errors),
                signed=True,
            )
        )

    def store(self, delivery: Delivery, body: bytes) -> bool:
        """Commit the result; True when new, False for a repeat delivery."""
        if self._write_lock is None:
            return self._insert(delivery, body)
        with self._write_lock:
            return self._insert(delivery, body)

    def _insert(self, delivery: Delivery, body: bytes) -> bool:
        with session_scope(self.engine) as session:
            return store.store_webhook_result(
                session,
                request_id=delivery.request_id,
                raw_body=body.decode("utf-8"),
                data=delivery.data,
                errors=delivery.errors,
                model_id=delivery.model_id,
                deployment_id=delivery.deployment_id,
                sent_time=delivery.sent_time,
                signed=delivery.signed,
            )


def _unsigned_delivery(body: bytes) -> Delivery:
    try:
        data = loads_bounded(body)
    except JSONLimitError as exc:
        raise Rejected(400, f"the body cannot be stored: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("request_id"), str):
        raise Rejected(400, "the body is not a JSON object with a request_id")
    return _storable(
        Delivery(
            request_id=_checked_id(data["request_id"]),
            model_id=_text_or_none(data.get("model_id")),
            deployment_id=_text_or_none(data.get("deployment_id")),
            sent_time=str(data.get("time") or "") or None,
            data=data.get("data"),
            errors=data.get("errors") or [],
            signed=False,
        )
    )


def _storable(delivery: Delivery) -> Delivery:
    """The delivery if the app can store it and draw it again; else :class:`Rejected` (400)."""
    try:
        for part in (delivery.data, delivery.errors, delivery.model_id, delivery.deployment_id):
            check_value(part)
    except JSONLimitError as exc:
        raise Rejected(400, f"the body cannot be stored: {exc}") from None
    if not isinstance(delivery.errors, list):
        raise Rejected(400, "the body's errors is not a list")
    if len(delivery.model_id or "") > 200 or len(delivery.deployment_id or "") > 200:
        raise Rejected(400, "the body's model_id or deployment_id is too long")
    return delivery


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _checked_id(request_id: str) -> str:
    if not request_id or len(request_id) > 64 or _SAFE_ID.search(request_id):
        raise Rejected(400, "request_id is not a Baseten request id")
    return request_id


def _first_sentence(exc: Exception) -> str:
    return str(exc).split(";")[0].split(". ")[0].rstrip(".")


# --- wiring -------------------------------------------------------------------------------


def make_webhook_app(config: AppConfig, engine: Engine, **options: Any) -> Starlette:
    """A standalone app serving only the receiver (tests, benchmarks)."""
    receiver = WebhookReceiver(config, engine, **options)
    return Starlette(routes=[Route(WEBHOOK_PATH, receiver.handle, methods=["POST"])])


def make_receiver_engine(config: AppConfig) -> Engine:
    """An engine on the app's database whose SQLite commits are fully synced to disk."""
    if config.database_url.startswith("sqlite:///"):
        config.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(config.database_url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _full_sync)
    init_db(engine)
    return engine


def _full_sync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


class _LazyReceiver:
    """Gets the process's receiver on the first request (its config and engine are built
    then, not when the server starts), then delegates."""

    def __init__(self, receiver: Callable[[], WebhookReceiver]) -> None:
        self._get = receiver
        self._receiver: WebhookReceiver | None = None

    async def handle(self, request: Request) -> JSONResponse:
        """The endpoint: get the receiver on first use, then delegate."""
        if self._receiver is None:
            self._receiver = await run_in_threadpool(self._get)
        return await self._receiver.handle(request)


def webhook_routes(receiver: Callable[[], WebhookReceiver]) -> list[Route]:
    """The receiver's route for ``st.App(..., routes=webhook_routes(get_receiver))``;
    ``receiver`` gives the process's one receiver (``chatapp.resources.get_webhook_receiver``)."""
    return [Route(WEBHOOK_PATH, _LazyReceiver(receiver).handle, methods=["POST"])]

"""Handlers shared by Model APIs and dedicated routes: chat completions and predict, with the
pace (global, per model, or a queued `first_token_delay_s` fault) applied to both."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import capacity, chat, model_traits, prompt_cache, replies, streams
from .backend import EmulatorBackend
from .errors import error_response

INVALID = object()


def json_body(request: Request) -> Any:
    """The parsed JSON body the gateway read, or INVALID."""
    raw = request.scope.get("state", {}).get("raw_body", b"")
    try:
        return json.loads(raw)
    except ValueError:
        return INVALID


def pace(backend: EmulatorBackend, model_key: str, path: str) -> tuple[float, float]:
    delay, tokens_per_second = backend.pace(model_key)
    fault = backend.take_fault("first_token_delay", path)
    return (float(fault["first_token_delay_s"]) if fault else delay), tokens_per_second


def _stream(
    backend: EmulatorBackend,
    request: Request,
    events: Any,
    model_key: str,
    media_type: str,
    headers: dict[str, str] | None = None,
    limits: capacity.CapacityLimits | None = None,
    slot: capacity.Slot | None = None,
) -> Response:
    path = request.url.path
    delay, tokens_per_second = pace(backend, model_key, path)
    cut = backend.take_fault("cut", path)
    slowdown = (lambda: backend.capacity.slowdown(model_key, limits)) if limits else (lambda: 1.0)
    body = streams.paced(
        events,
        delay=delay + _prefill(limits),
        tokens_per_second=tokens_per_second,
        cut_after=int(cut["cut_after_chunks"]) if cut else None,
        entry=request.scope["state"]["log_entry"],
        slowdown=slowdown,
    )
    if slot is not None:
        body = capacity.Holding(body, slot)
    return streams.TrackedStream(body, media_type=media_type, headers=headers)


def _prefill(limits: capacity.CapacityLimits | None) -> float:
    return limits.prefill_s if limits else 0.0


async def _wait_whole(
    backend: EmulatorBackend,
    path: str,
    model_key: str,
    tokens: int,
    extra_s: float = 0.0,
    factor: float = 1.0,
) -> None:
    delay, tokens_per_second = pace(backend, model_key, path)
    generating = tokens / tokens_per_second if tokens_per_second > 0 else 0
    await asyncio.sleep((delay + extra_s + generating) * factor)


async def chat_completion(
    backend: EmulatorBackend,
    request: Request,
    body: dict[str, Any],
    *,
    model_key: str,
    entry: dict[str, Any],
    model: str,
) -> Response:
    """POST .../chat/completions once the model is known; `body` is a dict."""
    problem = chat.validate(body)
    if not problem:
        body, problem = model_traits.adjust(body, entry)
    if problem:
        return error_response(request.url.path, 400, problem)
    limits = capacity.limits_for(backend.config, model_key, entry)
    slot = None
    if limits:
        if not backend.capacity.try_admit(model_key, limits):
            return error_response(
                request.url.path,
                429,
                "The deployment is at capacity: too many requests in flight.",
                headers={"Retry-After": "1"},
            )
        slot = capacity.Slot(backend.capacity, model_key)
    try:
        return await _chat_reply(
            backend,
            request,
            body,
            model_key=model_key,
            entry=entry,
            model=model,
            limits=limits,
            slot=slot,
        )
    except BaseException:
        if slot is not None:
            slot.release()
        raise


async def _chat_reply(
    backend: EmulatorBackend,
    request: Request,
    body: dict[str, Any],
    *,
    model_key: str,
    entry: dict[str, Any],
    model: str,
    limits: capacity.CapacityLimits | None,
    slot: capacity.Slot | None,
) -> Response:
    result = chat.plan(
        body,
        reply_tokens=backend.reply_tokens(model_key),
        reasoning_default=backend.reasoning_default(model_key, entry),
    )
    result.cached_tokens = backend.prompt_cache.cached_tokens(
        model_key, body["messages"], request.headers.get(prompt_cache.AFFINITY_HEADER)
    )
    seen = model_traits.describe_images(body["messages"])
    if seen and not result.tool_call:
        result.content = replies.pieces(f"{seen} {''.join(result.content)}")
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if body.get("stream"):
        events = streams.chat_events(result, completion_id=completion_id, model=model, body=body)
        return _stream(
            backend,
            request,
            events,
            model_key,
            "text/event-stream",
            {"Cache-Control": "no-cache"},
            limits,
            slot,
        )
    try:
        slow = backend.capacity.slowdown(model_key, limits) if limits else 1.0
        await _wait_whole(
            backend,
            request.url.path,
            model_key,
            result.completion_tokens,
            extra_s=_prefill(limits),
            factor=slow,
        )
    finally:
        if slot is not None:
            slot.release()
    reply = chat.completion(result, completion_id=completion_id, model=model)
    if not model_traits.reports_usage(entry):
        reply.pop("usage", None)
    return JSONResponse(reply)


async def predict(backend: EmulatorBackend, request: Request, model_id: str) -> Response:
    """POST {target}/predict: `{"prompt"}` or `{"messages"}` -> `{"output"}`, or raw chunked
    text when `"stream": true`."""
    body = json_body(request)
    path = request.url.path
    result = replies.predict_pieces(body, backend.reply_tokens(model_id))
    if result is None:
        return error_response(
            path,
            400,
            "The emulated model expects a JSON object with 'prompt' (string) or 'messages' (list).",
        )
    headers = {"X-BASETEN-REQUEST-ID": uuid.uuid4().hex}
    if body.get("stream"):
        return _stream(
            backend,
            request,
            streams.byte_events(result),
            model_id,
            "text/plain; charset=utf-8",
            headers,
        )
    await _wait_whole(backend, path, model_id, len(result))
    return JSONResponse({"output": "".join(result)}, headers=headers)

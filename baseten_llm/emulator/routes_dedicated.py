"""Dedicated deployment routes under `/model-{model_id}/`.

Targets: `production`, `environments/{env}`, `development`, `deployment/{deployment_id}`; under
each: `predict`, `async_predict`, `async_queue_status`, `wake`, `sync/v1/chat/completions`,
`sync/v1/models`, `sync/v1/embeddings`, `sync/rerank` (rerankers, see :mod:`.rerank`). Without a target: `GET|DELETE async_request/{id}`.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import inference, replies
from . import rerank as reranking
from .backend import EmulatorBackend
from .config import EMBEDDING_DIMENSIONS
from .errors import error_response

ASYNC_BODY_LIMIT = 256 * 1024
DEPLOYMENT_ID = re.compile(r"[a-z0-9]{8}")
_ENDPOINTS = {
    "predict": "POST",
    "async_predict": "POST",
    "async_queue_status": "GET",
    "wake": "POST",
    "sync/v1/chat/completions": "POST",
    "sync/v1/models": "GET",
    "sync/v1/embeddings": "POST",
    "sync/rerank": "POST",
}
_RANGES = {"priority": (0, 2), "max_time_in_queue_seconds": (10, 259200)}
_RETRY_RANGES = {
    "max_attempts": (1, 10),
    "initial_delay_ms": (0, 10000),
    "max_delay_ms": (0, 60000),
}


@dataclass
class Target:
    model_id: str
    model: dict[str, Any]
    deployment_id: str
    endpoint: str


def _resolve(model: dict[str, Any], rest: str) -> tuple[str, str] | str:
    """(deployment_id, endpoint) for the path below the model, or why it is not found."""
    head, _, tail = rest.partition("/")
    envs = model["environments"]
    if head in ("production", "development"):
        return envs[head], tail
    name, _, endpoint = tail.partition("/")
    if head == "environments":
        return (envs[name], endpoint) if name in envs else f"Environment '{name}' not found."
    if head == "deployment":
        ok = DEPLOYMENT_ID.fullmatch(name)
        return (name, endpoint) if ok else f"Deployment '{name}' not found."
    return f"No route '{rest}'."


def _invalid_async(body: Any) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("model_input"), dict):
        return "'model_input' is required and must be a JSON object."
    for key, (low, high) in _RANGES.items():
        if key in body and not _int_in(body[key], low, high):
            return f"'{key}' must be an integer from {low} to {high}."
    retry = body.get("inference_retry_config")
    if retry is not None:
        if not isinstance(retry, dict):
            return "'inference_retry_config' must be an object."
        for key, (low, high) in _RETRY_RANGES.items():
            if key in retry and not _int_in(retry[key], low, high):
                return f"'inference_retry_config.{key}' must be an integer from {low} to {high}."
    hook = body.get("webhook_endpoint")
    if hook is not None:
        url = urlparse(hook) if isinstance(hook, str) else None
        if url is None or url.scheme not in ("http", "https") or not url.netloc:
            return "'webhook_endpoint' must be an http(s) URL."
    return None


def _int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


class Dedicated:
    def __init__(self, backend: EmulatorBackend) -> None:
        self.backend = backend

    async def dispatch(self, request: Request) -> Response:
        model_id, rest = request.path_params["model_id"], request.path_params["rest"]
        path = request.url.path
        model = self.backend.config.dedicated.get(model_id)
        if model is None:
            return error_response(path, 404, f"Model '{model_id}' not found. Check the model id.")
        if rest.startswith("async_request/"):
            return self.async_request(request, model_id, rest.partition("/")[2])
        resolved = _resolve(model, rest)
        if isinstance(resolved, str):
            return error_response(path, 404, resolved)
        target = Target(model_id, model, *resolved)
        method = _ENDPOINTS.get(target.endpoint)
        if method is None:
            return error_response(path, 404, f"No route '{target.endpoint}' on this deployment.")
        if request.method != method:
            return error_response(path, 405, f"Use {method} for '{target.endpoint}'.")
        handler = getattr(self, target.endpoint.replace("sync/v1/", "").replace("/", "_"))
        return await handler(request, target)

    def _kind(self, request: Request, target: Target, kind: str) -> Response | None:
        if target.model["kind"] == kind:
            return None
        hint = {
            "embeddings": "serves embeddings: use sync/v1/embeddings",
            "reranker": "is a reranker: use sync/rerank",
        }.get(target.model["kind"], "is an LLM: it has no embeddings route")
        return error_response(request.url.path, 404, f"Model '{target.model_id}' {hint}.")

    async def chat_completions(self, request: Request, target: Target) -> Response:
        body = inference.json_body(request)
        if not isinstance(body, dict):
            return error_response(request.url.path, 400, "The request body must be a JSON object.")
        return self._kind(request, target, "llm") or await inference.chat_completion(
            self.backend,
            request,
            body,
            model_key=target.model_id,
            entry=target.model,
            model=str(body.get("model") or target.model_id),
        )

    async def models(self, request: Request, target: Target) -> Response:
        model = target.model
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {
                        "id": target.model_id,
                        "object": "model",
                        "created": 1735689600,
                        "owned_by": "baseten",
                        "root": model["name"],
                        "max_model_len": model["context_length"],
                        "context_length": model["context_length"],
                    }
                ],
            }
        )

    async def embeddings(self, request: Request, target: Target) -> Response:
        wrong = self._kind(request, target, "embeddings")
        body = inference.json_body(request)
        texts = body.get("input") if isinstance(body, dict) else None
        texts = [texts] if isinstance(texts, str) else texts
        if wrong or not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return wrong or error_response(
                request.url.path, 400, "'input' must be a string or a list of strings."
            )
        slow = self.backend.take_fault("first_token_delay", request.url.path)
        if slow is not None:  # a slow embeddings deployment: the reply comes after the delay
            await asyncio.sleep(float(slow["first_token_delay_s"]))
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector: Any = replies.embedding(text, EMBEDDING_DIMENSIONS)
            vector = replies.embedding_base64(vector) if as_base64 else vector
            data.append({"object": "embedding", "index": index, "embedding": vector})
        tokens = sum(len(t.split()) for t in texts)
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": target.model["name"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    async def sync_rerank(self, request: Request, target: Target) -> Response:
        return await reranking.rerank(request, target.model, target.model_id)

    async def predict(self, request: Request, target: Target) -> Response:
        return self._kind(request, target, "llm") or await inference.predict(
            self.backend, request, target.model_id
        )

    async def async_predict(self, request: Request, target: Target) -> Response:
        path = request.url.path
        raw = request.scope["state"]["raw_body"]
        if len(raw) > ASYNC_BODY_LIMIT:
            return error_response(
                path,
                413,
                f"Async request payloads are limited to 256 KiB; this one is {len(raw)} bytes.",
            )
        body = inference.json_body(request)
        problem = _invalid_async(body)
        if problem:
            return error_response(path, 400, problem)
        job = self.backend.jobs.submit(target.model_id, target.deployment_id, body)
        return JSONResponse({"request_id": job.request_id}, status_code=201)

    async def async_queue_status(self, request: Request, target: Target) -> Response:
        queued, running = self.backend.jobs.queue_counts(target.model_id)
        return JSONResponse(
            {
                "model_id": target.model_id,
                "deployment_id": target.deployment_id,
                "num_queued_requests": queued,
                "num_in_progress_requests": running,
            }
        )

    async def wake(self, request: Request, target: Target) -> Response:
        return Response(status_code=202)

    def async_request(self, request: Request, model_id: str, request_id: str) -> Response:
        job = self.backend.jobs.jobs.get(request_id)
        if job is None or job.model_id != model_id:
            return error_response(request.url.path, 404, f"Async request '{request_id}' not found.")
        if request.method == "GET":
            return JSONResponse(job.record())
        if request.method == "DELETE":
            return JSONResponse(self.backend.jobs.cancel(request_id))
        return error_response(request.url.path, 405, "Use GET or DELETE for async_request.")


def routes(backend: EmulatorBackend) -> list[Route]:
    dedicated = Dedicated(backend)
    return [
        Route(
            "/model-{model_id}/{rest:path}", dedicated.dispatch, methods=["GET", "POST", "DELETE"]
        )
    ]

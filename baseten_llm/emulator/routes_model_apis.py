"""Model APIs routes under `/v1` (OpenAI-compatible, models chosen by slug)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import inference
from .backend import EmulatorBackend
from .errors import error_response

CREATED = 1735689600  # 2025-01-01, a fixed catalog date


def model_row(slug: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": slug,
        "object": "model",
        "created": CREATED,
        "owned_by": "baseten",
        "name": entry["name"],
        "context_length": entry["context_length"],
        "max_completion_tokens": entry["max_completion_tokens"],
        "input_modalities": entry.get("input_modalities", ["text"]),
        "output_modalities": ["text"],
        "pricing": entry["pricing"],
        "supported_features": ["tools", "json_mode", "structured_outputs"]
        + (["reasoning"] if entry.get("reasoning") else []),
    }


def routes(backend: EmulatorBackend) -> list[Route]:
    async def list_models(request: Request) -> Response:
        catalog = backend.config.model_apis
        return JSONResponse(
            {"object": "list", "data": [model_row(s, e) for s, e in catalog.items()]}
        )

    async def get_model(request: Request) -> Response:
        slug = request.path_params["slug"]
        entry = backend.config.model_apis.get(slug)
        if entry is None:
            return error_response(request.url.path, 404, f"Model '{slug}' not found.")
        return JSONResponse(model_row(slug, entry))

    async def chat_completions(request: Request) -> Response:
        body = inference.json_body(request)
        path = request.url.path
        if not isinstance(body, dict):
            return error_response(path, 400, "The request body must be a JSON object.")
        slug = body.get("model")
        if not isinstance(slug, str) or not slug:
            return error_response(path, 400, "'model' is required (a Model APIs slug).")
        entry = backend.config.model_apis.get(slug)
        if entry is None:
            return error_response(
                path,
                404,
                f"Model '{slug}' not found. Check the slug; "
                "GET /v1/models lists the models served.",
            )
        return await inference.chat_completion(
            backend, request, body, model_key=slug, entry=entry, model=slug
        )

    return [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{slug:path}", get_model, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    ]

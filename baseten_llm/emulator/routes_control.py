"""Control endpoints under `/_emulator/` (no auth): reset, request log, config, faults, jobs,
webhook delivery attempts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .backend import EmulatorBackend


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


def routes(backend: EmulatorBackend) -> list[Route]:
    async def reset(request: Request) -> Response:
        backend.reset()
        return JSONResponse({"reset": True})

    async def requests(request: Request) -> Response:
        return JSONResponse(backend.log)

    async def get_config(request: Request) -> Response:
        return JSONResponse(backend.config.public())

    async def post_config(request: Request) -> Response:
        changes = await request.json()
        if not isinstance(changes, dict):
            return _bad("POST a JSON object of config keys.")
        try:
            backend.configure(changes)
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))
        return JSONResponse(backend.config.public())

    async def get_faults(request: Request) -> Response:
        return JSONResponse(backend.faults)

    async def post_faults(request: Request) -> Response:
        data = await request.json()
        try:
            backend.add_faults(data if isinstance(data, list) else [data])
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))
        return JSONResponse(backend.faults)

    async def release_jobs(request: Request) -> Response:
        return JSONResponse({"released": backend.jobs.release()})

    async def list_jobs(request: Request) -> Response:
        return JSONResponse([job.record() for job in backend.jobs.jobs.values()])

    async def capacity(request: Request) -> Response:
        return JSONResponse(backend.capacity.snapshot())

    async def webhooks(request: Request) -> Response:
        return JSONResponse(backend.jobs.webhook_attempts)

    return [
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/requests", requests, methods=["GET"]),
        Route("/_emulator/capacity", capacity, methods=["GET"]),
        Route("/_emulator/config", get_config, methods=["GET"]),
        Route("/_emulator/config", post_config, methods=["POST"]),
        Route("/_emulator/faults", get_faults, methods=["GET"]),
        Route("/_emulator/faults", post_faults, methods=["POST"]),
        Route("/_emulator/jobs/release", release_jobs, methods=["POST"]),
        Route("/_emulator/jobs", list_jobs, methods=["GET"]),
        Route("/_emulator/webhooks", webhooks, methods=["GET"]),
    ]

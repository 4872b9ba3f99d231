"""The Starlette application: gateway middleware + Model APIs, dedicated and control routes."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import routes_control, routes_dedicated, routes_model_apis
from .backend import EmulatorBackend
from .errors import error_response
from .gateway import Gateway

ABOUT = (
    "Baseten API emulator: a local test and demo double of Baseten's inference APIs. "
    "It is not Baseten and serves no real models."
)


async def about(request: Request) -> Response:
    return JSONResponse(
        {
            "emulator": True,
            "about": ABOUT,
            "model_apis": "/v1",
            "deployments": "/model-{model_id}",
            "control": "/_emulator/",
        }
    )


async def not_found(request: Request, exc: Exception) -> Response:
    return error_response(
        request.url.path, 404, f"No route {request.method} {request.url.path}.", code="not_found"
    )


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    return error_response(request.url.path, 405, f"Method {request.method} not allowed here.")


def create_app(backend: EmulatorBackend) -> Starlette:
    routes = [
        Route("/", about, methods=["GET"]),
        *routes_control.routes(backend),
        *routes_model_apis.routes(backend),
        *routes_dedicated.routes(backend),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Gateway, backend=backend)],
        exception_handlers={404: not_found, 405: method_not_allowed},
    )
    app.state.backend = backend
    return app

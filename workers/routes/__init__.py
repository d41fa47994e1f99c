"""HTTP routes by topic, one module each, included in the web app.

Each module listed in ``MODULES`` defines ``router(rt, guard) -> APIRouter``; ``guard`` is
the bearer-token dependency of the personal-data endpoints (``web.export_token``): add
``dependencies=[Depends(guard)]`` to a route that shows customers or their baskets.
Database work goes through ``run_in_threadpool`` or plain ``def`` routes (FastAPI runs
those in its thread pool), never blocking the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from fastapi import FastAPI

from bridge.sync.runtime import Runtime

GUARDED: dict[int | str, dict[str, str]] = {
    401: {"description": "Missing or wrong bearer token."},
    403: {"description": "Off: no web.export_token in the settings."},
}
"""The answers of a route behind ``guard``, for its OpenAPI ``responses``."""

MODULES: list[str] = [
    "workers.routes.baskets",
    "workers.routes.events",
    "workers.routes.loyalty",
    "workers.routes.returns",
    "workers.routes.parity",
]


def include_all(app: FastAPI, rt: Runtime, guard: Callable[..., None]) -> None:
    for name in MODULES:
        app.include_router(import_module(name).router(rt, guard))

"""Builds the console's Starlette app from its page modules.

Why this exists: one place that wires pages, vendored static files, the local-only guard and
error pages, so `server.py` only runs it and tests can build it against any local engine.
Errors become pages that say what happened and what to do: an engine that does not answer is
a 503 page, an unknown path a 404, anything else a 500 page with the error's one-line text
(never a traceback; the traceback goes to the console's log).
"""

from __future__ import annotations

import logging
from pathlib import Path

from botocore.exceptions import ConnectionError as EngineConnectionError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from edalab.console.engine_view import EngineUnavailable, EngineView
from edalab.console.guards import LocalOnly
from edalab.console.pages import PAGES
from edalab.console.templating import page

LOG = logging.getLogger("edalab.console")
STATIC = Path(__file__).parent / "static"


async def _http_error(request: Request, error: HTTPException):
    return page(request, "error.html", status_code=error.status_code,
                title="Not found" if error.status_code == 404 else "Refused", message=error.detail)


async def _engine_down(request: Request, error: EngineUnavailable | EngineConnectionError):
    return page(request, "error.html", status_code=503, title="The engine does not answer",
                message=f"{error}. Start it with `make up`; this page works again as soon as it answers.")


async def _unexpected(request: Request, error: Exception):
    LOG.exception("console: %s %s failed", request.method, request.url.path)
    return page(request, "error.html", status_code=500, title="Something went wrong",
                message=f"{type(error).__name__}: {error}. The console's log has the details.")


def create_app(view: EngineView) -> Starlette:
    routes = [Mount("/static", StaticFiles(directory=STATIC), name="static")]
    for module in PAGES:
        routes += module.routes
    app = Starlette(
        routes=routes,
        middleware=[Middleware(LocalOnly)],
        exception_handlers={HTTPException: _http_error, EngineUnavailable: _engine_down,
                            EngineConnectionError: _engine_down,  # boto3 could not reach the engine
                            Exception: _unexpected},
    )
    app.state.view = view
    return app

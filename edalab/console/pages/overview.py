"""Overview: is the engine up, and where does each lab stand.

Why this exists: the first page a learner opens. It answers "is it running?" and "which lab
is deployed, did its check pass?" before anything else, and lists whatever is red first (a
dead-letter queue holding messages, an alarm in ALARM, a failed stack), each linked to the
page that explains it. The readings live in `lab_status`, `attention` and
`edalab.inventory`; every engine read goes through the shared cache.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.routing import Route

from edalab import inventory
from edalab.console.attention import red_items
from edalab.console.engine_view import EngineUnavailable
from edalab.console.lab_status import lab_rows
from edalab.console.templating import page

NAV = ("Overview", "/")
COUNTS_TTL = 10.0  # nine list calls; resources appear only on deploy or by hand


def engine_info(view) -> dict | None:
    """LocalStack's `/_localstack/info` (its uptime in seconds among it), or None."""
    def read() -> dict | None:
        try:
            return view.developer("/_localstack/info", timeout=2)
        except EngineUnavailable:
            return None
    return view.cached(("engine-info",), read)


def overview(request: Request):
    view = request.app.state.view
    health = view.health()
    rows = lab_rows(view, healthy=bool(health))
    context = {"health": health, "labs": rows, "console_uptime": time.time() - view.started_at,
               "info": None, "counts": {}, "red": []}
    if health:
        context.update(info=engine_info(view), red=red_items(view, rows),
                       counts=view.cached(("resource-counts",), lambda: inventory.resource_counts(view.endpoint),
                                          ttl=COUNTS_TTL))
    return page(request, "overview.html", "overview_live.html", **context)


routes = [Route("/", overview)]

"""Start-up hook: serves `POST /_edalab/reset` (not with EDALAB_STOCK_SERVICES=reset).

Why this exists: LocalStack loads `localstack.hooks.on_infra_start` entry points before it serves,
and `localstack.services.edge.ROUTER` answers routes before any AWS service is looked for.
EDALAB_STOCK_SERVICES=reset leaves the route out, so the engine is stock (404) for the tests.
"""

from __future__ import annotations

import logging

from localstack.runtime import hooks

from edalab.plugins import uses_stock

LOG = logging.getLogger(__name__)

_installed = False  # an engine restarted in the same process keeps its route


@hooks.on_infra_start()
def serve_engine_reset():
    global _installed
    if uses_stock("reset") or _installed:
        return
    from localstack.services.edge import ROUTER

    from edalab.plugins.reset import internal_clients, route

    internal_clients.record_internal_clients()
    ROUTER.add(route.PATH, route.serve_reset)
    _installed = True
    LOG.info("edalab: POST %s empties every service's state in place", route.PATH)

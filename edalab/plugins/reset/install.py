"""Start-up hook: serves `POST /_edalab/reset`, and holds requests back while a reset or a restore
runs (not with EDALAB_STOCK_SERVICES=reset).

Why this exists: LocalStack loads `localstack.hooks.on_infra_start` entry points before it serves,
and `localstack.services.edge.ROUTER` answers routes before any AWS service is looked for;
`handlers.preprocess_request` is the chain's slot for additions before a request is parsed
(`request_gate`). EDALAB_STOCK_SERVICES=reset leaves both out, so the engine is stock (404) for the tests.
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
    from localstack.aws import handlers
    from localstack.services.edge import ROUTER

    from edalab.plugins.reset import internal_clients, request_gate, route

    internal_clients.record_internal_clients()
    ROUTER.add(route.PATH, route.serve_reset)
    handlers.preprocess_request.append(request_gate.wait_for_reset)
    _installed = True
    LOG.info("edalab: POST %s empties every service's state in place", route.PATH)

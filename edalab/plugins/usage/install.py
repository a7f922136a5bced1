"""Start-up hook: puts the usage meter's hooks and route in place (not with EDALAB_STOCK_SERVICES=usage).

Why this exists: LocalStack loads `localstack.hooks.on_infra_start` entry points before it
serves; `handlers.run_custom_response_handlers` and `handlers.serve_custom_service_request_handlers`
are the chain's own slots for additions, and `localstack.services.edge.ROUTER` serves routes
before any AWS service is looked for. EDALAB_STOCK_SERVICES=usage leaves all of it out, so the
engine is stock (no `/_edalab/usage`: 404) for the tests and for the benchmark's baseline.
"""

from __future__ import annotations

import logging

from localstack.runtime import hooks

from edalab.plugins import uses_stock

LOG = logging.getLogger(__name__)

_installed = False  # an engine restarted in the same process keeps its hooks


@hooks.on_infra_start()
def start_usage_metering():
    global _installed
    if uses_stock("usage") or _installed:
        return
    from localstack.aws import handlers
    from localstack.services.edge import ROUTER

    from edalab.plugins.usage import lambda_billing, request_hook, route, sns_deliveries
    from edalab.plugins.on_import import when_imported
    from edalab.plugins.usage.counters import STORE

    handlers.serve_custom_service_request_handlers.append(request_hook.remember_item_before)
    handlers.run_custom_response_handlers.append(request_hook.count_response)
    ROUTER.add(route.PATH, route.usage_route(STORE))
    # Lambda's and SNS's code is patched when it is first imported, not at start (on_import.py)
    when_imported("localstack.services.lambda_.invocation.version_manager",
                  lambda _: lambda_billing.install_invocation_billing(STORE))
    when_imported("localstack.services.lambda_.event_source_mapping.esm_worker_factory",
                  lambda _: lambda_billing.mark_mapping_invokes())
    when_imported("localstack.services.sns.publisher", lambda _: sns_deliveries.install_delivery_counting(STORE))
    _installed = True
    LOG.info("edalab: the engine counts what it serves (GET %s)", route.PATH)

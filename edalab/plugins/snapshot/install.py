"""Start-up hook: serves the snapshot's routes (`/_edalab/snapshot`, `/_edalab/restore`).

Why this exists: LocalStack runs `localstack.hooks.on_infra_start` entry points before it
serves, and `localstack.services.edge.ROUTER` answers our paths before any AWS service is
looked for. Nothing LocalStack-side is imported until the hook runs.
"""

from __future__ import annotations

from localstack.runtime import hooks

_installed = False  # an engine restarted in the same process keeps its routes


@hooks.on_infra_start()
def install_snapshot_routes():
    global _installed
    if _installed:
        return
    from localstack.services.edge import ROUTER

    from edalab.plugins.snapshot import route

    ROUTER.add(route.SAVE_PATH, route.serve_snapshot)
    ROUTER.add(route.RESTORE_PATH, route.serve_restore)
    _installed = True

"""Start-up hook: serves the snapshot's routes (`/_edalab/snapshot`, `/_edalab/restore`) and,
when the state folder holds a snapshot, reads it ahead once the engine is ready.

Why this exists: LocalStack runs `localstack.hooks.on_infra_start` entry points before it
serves, and `localstack.services.edge.ROUTER` answers our paths before any AWS service is
looked for. Nothing LocalStack-side is imported until the hook runs.
"""

from __future__ import annotations

import threading

from localstack.runtime import hooks

from edalab.plugins import uses_stock

_installed = False  # an engine restarted in the same process keeps its routes


@hooks.on_infra_start()
def install_snapshot_routes():
    global _installed
    if _installed or uses_stock("snapshot"):  # EDALAB_STOCK_SERVICES=snapshot: a stock engine, no routes (404)
        return
    from localstack.services.edge import ROUTER

    from edalab.plugins.snapshot import route

    ROUTER.add(route.SAVE_PATH, route.serve_snapshot)
    ROUTER.add(route.RESTORE_PATH, route.serve_restore)
    _installed = True
    threading.Thread(target=_read_snapshot_ahead, name="edalab-snapshot-ahead", daemon=True).start()


def _read_snapshot_ahead() -> None:
    """With a snapshot in the state folder, `make up` is about to restore it: once the engine is
    ready, its services are loaded and its files read while the command starts the console."""
    from localstack.runtime import events

    from edalab.plugins.snapshot import route

    folder = route.snapshot_folder()
    if folder is None or not folder.is_dir():
        return
    if events.infra_ready.wait(timeout=120):
        from edalab.plugins.snapshot import engine_state  # imported once the engine answers, not on its start path

        if (folder / engine_state.META).is_file():
            engine_state.prepare(folder)

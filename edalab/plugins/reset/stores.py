"""Emptying every store of the engine: LocalStack's stores, moto's backends, S3's object files.

Why this exists: the community edition has no reset (its `/_localstack/state/reset` is in the Pro
edition), but every service says where its state is: `Service.accept_state_visitor` hands a
visitor its `AccountRegionBundle`s (LocalStack's stores), its moto `BackendDict`s and its asset
directories. `ResetVisitor` empties each one, between the service's `on_before_state_reset` and
`on_after_state_reset` hooks, as LocalStack's own persistence does. Only running services are
reset (one never used has no state, and asking for it would load it).

What each kind of container gets:
- AccountRegionBundle: `reset()`: every store's attributes, cross-region and cross-account ones too;
- moto BackendDict: each account's backends `reset()` in place (moto re-runs their `__init__`;
  the objects stay the same, so nothing that holds one is left with a stale backend);
- AssetDirectory: S3's is its object storage (temporary files per object): closed and removed;
  the others (CloudWatch's metric database) are emptied by their service's own hooks.
"""

from __future__ import annotations

import logging
import os
import shutil
import time

from edalab.plugins.reset import services

LOG = logging.getLogger(__name__)


def _reset_s3_objects(directory) -> None:
    provider = services.provider("s3")
    backend = getattr(provider, "_storage_backend", None)
    if backend is None or str(getattr(backend, "root_directory", "")) != str(directory.path):
        return
    backend.reset()  # closes every object's file
    getattr(backend, "_filesystem", {}).clear()
    if not os.path.isdir(directory.path):  # the engine's own folder is made on the first object
        return
    for entry in os.scandir(directory.path):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.unlink(entry.path)


def reset_visitor():
    from localstack.services.stores import AccountRegionBundle
    from localstack.state import AssetDirectory, StateVisitor
    from moto.core.base_backend import BackendDict

    class ResetVisitor(StateVisitor):
        def __init__(self) -> None:
            self.visited: list[str] = []

        def visit(self, state_container) -> None:
            if isinstance(state_container, AccountRegionBundle):
                state_container.reset()
                self.visited.append("stores")
            elif isinstance(state_container, BackendDict):
                for account_backend in list(state_container.values()):
                    account_backend.reset()
                self.visited.append("moto")
            elif isinstance(state_container, AssetDirectory):
                if state_container.service_name == "s3":
                    _reset_s3_objects(state_container)
                    self.visited.append("objects")

    return ResetVisitor()


def reset_service(service) -> list[str]:
    """Empties one running service's state between its reset hooks; returns what was visited."""
    from localstack.utils.functions import call_safe

    hook = service.lifecycle_hook
    call_safe(hook.on_before_state_reset)
    visitor = reset_visitor()
    service.accept_state_visitor(visitor)
    call_safe(hook.on_after_state_reset)
    return visitor.visited


def reset_all() -> dict[str, float]:
    """Empties every running service's state; returns the seconds each service took."""
    took: dict[str, float] = {}
    for name, service in sorted(services.running_services().items()):
        started = time.perf_counter()
        try:
            reset_service(service)
        except Exception as error:  # the other services are still reset
            LOG.warning("edalab: resetting %s failed: %s", name, error, exc_info=True)
            took[name + ".error"] = str(error)
        took[name] = round(time.perf_counter() - started, 4)
    return took

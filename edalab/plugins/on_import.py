"""Run a patch the moment a module is first imported, instead of importing it at engine start.

Why this exists: our engine fixes patch LocalStack's services (Lambda's event source mapping
factory, SQS's metric publisher, SNS's publishers, ...). LocalStack imports a service's code
only when the service gets its first request, but a start hook that patched it had to import it
first: about 0.3 s of the engine's start went to importing Lambda, SQS and SNS that way, before
the engine could answer anything. `when_imported(name, patch)` runs `patch(module)` right after
`name` has been executed, inside the import that loads it, so no code can use the module
unpatched: the patch takes effect exactly as if it had been made at start. When the module is
imported already, the patch runs at once (once its body has finished executing, if
another thread is importing it right now).

A patch that raises is logged and the import goes on, as a failing start hook did.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import logging
import sys
import threading
from collections.abc import Callable
from types import ModuleType

LOG = logging.getLogger(__name__)

Patch = Callable[[ModuleType], None]

_lock = threading.RLock()
_waiting: dict[str, list[Patch]] = {}  # module name -> patches to run once it has executed


def when_imported(name: str, patch: Patch) -> None:
    """Calls `patch(module)` once module `name` is imported: now if it is, else right after it
    executes (in the importing thread, before the importer gets the module)."""
    with _lock:
        if name not in sys.modules:
            _waiting.setdefault(name, []).append(patch)
            _install_finder()
            return
    # it may be half executed (another thread is importing it): import_module waits on the module's
    # import lock until its body has run, so the rest of the body cannot overwrite the patch
    _run(name, importlib.import_module(name), [patch])


def _run(name: str, module: ModuleType, patches: list[Patch]) -> None:
    for patch in patches:
        try:
            patch(module)
        except Exception:  # a broken fix must not break the service it fixes; it is logged
            LOG.exception("edalab: could not apply %s to %s", getattr(patch, "__qualname__", patch), name)


class _PatchingLoader(importlib.abc.Loader):
    """Wraps the real loader: executes the module, then runs the patches waiting for it."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__.loader = module.__loader__ = self._loader  # the module keeps its own loader
        self._loader.exec_module(module)
        with _lock:
            patches = _waiting.pop(module.__name__, [])
        _run(module.__name__, module, patches)

    def __getattr__(self, attribute):  # get_source, get_code, is_package, ... as the real loader
        return getattr(self._loader, attribute)


class _PatchingFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: for a module with patches waiting, wraps the loader others found."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in _waiting:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _PatchingLoader(spec.loader)
        return spec


_finder = _PatchingFinder()


def _install_finder() -> None:
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)

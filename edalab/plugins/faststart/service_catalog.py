"""LocalStack's service catalog, built once per machine instead of once per state folder.

Why this exists: to tell which AWS service a request is for, LocalStack indexes every API
botocore knows (`localstack.aws.spec.get_service_catalog`). It builds that index on the first
request and keeps it in the state folder's cache (`service-catalog-<LocalStack>-<botocore>.dill`,
~0.9 MB); the first request of every new state folder waited ~4 s for it: each test session's
engine, each benchmark engine, a learner's first `make up`. The file depends only on the two
versions in its name, so it is kept in a shared cache too and copied into a new engine's cache
before the engine serves (LocalStack then loads it in ~25 ms, as it does its own cached copy).
Once the engine is ready, a background thread loads the catalog (or builds it, the first time on
a machine, and shares it), so the first AWS request finds it loaded instead of loading it itself.

The shared cache is EDALAB_CACHE_DIR, else `$XDG_CACHE_HOME/edalab`, else `~/.cache/edalab`.
The shared copy's name adds the Python and dill versions to LocalStack's (a pickle is read back
only by the versions that wrote it), and an engine shares its file only once LocalStack has
loaded it (a file half written when the disk filled up must not become every engine's copy).
Files are written under a temporary name and renamed, so engines starting at the same time
never read half a file. A file LocalStack cannot load costs that engine its head start (it logs
the error and indexes lazily); the file is then removed from the engine's cache, and from the
shared cache when it came from there, so the next start builds a good one.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import sys
import threading
from pathlib import Path

from localstack.runtime import hooks

from edalab.plugins import uses_stock

LOG = logging.getLogger(__name__)


def shared_cache() -> Path:
    if configured := os.environ.get("EDALAB_CACHE_DIR"):
        return Path(configured)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache") / "edalab"


def _dill_version() -> str:
    """dill's version, without importing dill before the engine serves (40 ms)."""
    if "dill" in sys.modules:
        return sys.modules["dill"].__version__
    spec = importlib.util.find_spec("dill")
    if spec is not None and spec.origin:
        for info in Path(spec.origin).parent.parent.glob("dill-*.dist-info"):
            return info.name.removeprefix("dill-").removesuffix(".dist-info")
    return "unknown"


def shared_name(name: str) -> str:
    """The shared copy's name: LocalStack's (its and botocore's versions), Python's and dill's."""
    python = f"{sys.implementation.name}{sys.version_info.major}_{sys.version_info.minor}"
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}-{python}-dill{_dill_version().replace('.', '_')}{dot}{suffix}"


def _catalog_paths() -> tuple[Path, Path, Path]:
    """(the engine's cache file, LocalStack's prebuilt file, the shared copy)."""
    from localstack import config
    from localstack.aws.spec import _get_catalog_filename

    name = _get_catalog_filename()
    return Path(config.dirs.cache) / name, Path(config.dirs.static_libs) / name, shared_cache() / shared_name(name)


def copy_whole(source: Path, target: Path) -> None:
    """Copies `source` to `target` so that `target` is never seen half written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


@hooks.on_infra_start()
def hand_over_shared_catalog() -> None:
    """Before the engine serves: a new state folder gets the shared catalog."""
    if uses_stock("faststart"):
        return
    try:
        local, prebuilt, shared = _catalog_paths()
        if not local.exists() and not prebuilt.exists() and shared.is_file():
            copy_whole(shared, local)
    except OSError as error:  # no shared cache: LocalStack builds its own, as before
        LOG.debug("edalab: the shared service catalog was not used: %s", error)


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.read_bytes() == other.read_bytes()
    except OSError:
        return False


def _forget_unloadable(local: Path, shared: Path) -> None:
    """The engine's cache file did not load: it goes, and the shared copy too if it was that file."""
    if _same_file(local, shared):
        shared.unlink(missing_ok=True)
        LOG.warning("edalab: the shared service catalog %s did not load; it was removed", shared)
    local.unlink(missing_ok=True)


def _load_and_share() -> None:
    from localstack.aws.spec import LazyServiceCatalogIndex, get_service_catalog

    try:
        # thread-safe singleton: a request arriving meanwhile waits for this one
        loaded = not isinstance(get_service_catalog().index, LazyServiceCatalogIndex)
        local, prebuilt, shared = _catalog_paths()
        if prebuilt.exists() or not local.is_file():
            return  # LocalStack read its own prebuilt file, or had no cache folder: nothing of ours
        if not loaded:
            _forget_unloadable(local, shared)
        elif not shared.exists():
            copy_whole(local, shared)
    except Exception as error:  # noqa: BLE001 - the first request loads it itself, as before
        LOG.debug("edalab: the service catalog was not loaded ahead: %s", error)


@hooks.on_infra_ready()
def load_catalog_ahead() -> None:
    """Once the engine serves: load (or build and share) the catalog before a request needs it."""
    if uses_stock("faststart"):
        return
    threading.Thread(target=_load_and_share, name="edalab-service-catalog", daemon=True).start()

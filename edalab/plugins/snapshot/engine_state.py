"""Saving the whole engine to a folder, and loading it back, inside the engine process.

Why this exists: it is the order of operations around `containers` and `s3_objects`. A save
runs each loaded service's `on_before/after_state_save` hooks around its containers. A restore
stops the engine's background work (the reset plugin's `background.stop_all`), loads S3 first
(Lambda's code is S3 objects), then every other saved service, resets the services a learner
loaded since the snapshot was taken, and starts the background work again for the loaded state
(`background.start_all`: mapping workers, function versions, alarm schedules, EventBridge's
rules and schedules). The folder is written next to its final place and renamed into it, so a
save that fails halfway leaves the previous snapshot whole.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from pathlib import Path

from localstack import version as localstack_version
from localstack.services.plugins import SERVICE_PLUGINS

from edalab.plugins.snapshot import containers, s3_objects

LOG = logging.getLogger(__name__)

META = "snapshot.json"
FORMAT = 1
# Loaded first: Lambda's code and CloudFormation's resources refer to what these hold.
LOAD_FIRST = ("s3", "iam", "sts", "sqs", "sns", "dynamodb")
# Their load hooks start background work that `background.start_all()` starts instead.
HOOKS_LEFT_TO_BACKGROUND = ("lambda", "cloudwatch")


class SnapshotMissing(LookupError):
    """No snapshot in the folder (answered 404)."""


class SnapshotUnusable(ValueError):
    """A snapshot that cannot be loaded into this engine: corrupt, or another format (answered 409)."""


class KeyMismatch(SnapshotUnusable):
    """The snapshot was saved for other code than the caller's (its engine key): refused untouched (409)."""


class RestoreFailed(RuntimeError):
    """Loading failed part way (answered 500): the engine was emptied again and its background
    work started for that empty state, so it is consistent but holds none of the labs; the
    message says so, or that emptying it failed too and its state is partial."""


def engine_identity() -> dict:
    return {"format": FORMAT, "localstack": localstack_version.__version__}


def _service(name: str):
    return SERVICE_PLUGINS.get_service(name)


def _saved_while_live(save_once, attempts: int = 5):
    """A store may change while it is pickled (a function still writing after the deploy):
    Python then stops with "changed size during iteration"; the save is simply made again."""
    for attempt in range(attempts):
        try:
            return save_once()
        except RuntimeError as error:
            if "changed size during iteration" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def save(folder: Path, meta: dict) -> dict:
    """Writes every loaded service's state and S3's bytes to `folder`; returns the snapshot's description."""
    started = time.monotonic()
    staging = folder.with_name(folder.name + ".saving")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    services = sorted(SERVICE_PLUGINS.list_loaded_services())
    saved = {}
    for name in services:
        service = _service(name)
        service.lifecycle_hook.on_before_state_save()
        try:
            saved[name] = _saved_while_live(lambda: containers.save(service, staging / "services" / name))
        finally:
            service.lifecycle_hook.on_after_state_save()
    objects = s3_objects.save(_service("s3")._provider._storage_backend, staging) if "s3" in services else 0
    description = {**engine_identity(), **meta, "services": saved, "s3_objects": objects,
                   "saved_at": time.time(), "save_seconds": round(time.monotonic() - started, 3)}
    (staging / META).write_text(json.dumps(description, indent=1))
    previous = folder.with_name(folder.name + ".previous")
    shutil.rmtree(previous, ignore_errors=True)
    if folder.exists():
        folder.rename(previous)
    staging.rename(folder)
    shutil.rmtree(previous, ignore_errors=True)
    return description


def describe(folder: Path) -> dict:
    """The snapshot's description; raises SnapshotMissing / SnapshotUnusable with the reason."""
    try:
        description = json.loads((folder / META).read_text())
    except FileNotFoundError:
        raise SnapshotMissing(f"no snapshot in {folder}: `make up` saves one after deploying every lab") from None
    except (OSError, ValueError) as error:
        raise SnapshotUnusable(f"the snapshot's {META} cannot be read ({error})") from None
    wanted = engine_identity()
    found = {name: description.get(name) for name in wanted}
    if found != wanted:
        raise SnapshotUnusable(f"the snapshot was saved by {found}, this engine is {wanted}")
    return description


def _load_order(names) -> list[str]:
    first = [n for n in LOAD_FIRST if n in names]
    return first + sorted(n for n in names if n not in first)


_prepared: dict = {}  # folder -> (snapshot.json's mtime, what `read` returned), used once
_preparing = threading.Lock()


def prepare(folder: Path) -> None:
    """Ahead of a restore (at engine start, when a snapshot is there): loads the services it
    holds and reads its files, so `make up`'s restore finds both done. Anything wrong is left for
    the restore to find and report."""
    with _preparing:
        try:
            stamp, started = (folder / META).stat().st_mtime_ns, time.monotonic()
            for name in _load_order(describe(folder)["services"]):
                SERVICE_PLUGINS.require(name)
            loaded = time.monotonic()
            description, images, objects = _read_files(folder)
            ahead = {"services": round(loaded - started, 3), "files": round(time.monotonic() - loaded, 3)}
            _prepared[folder] = (stamp, ({**description, "read_ahead": ahead}, images, objects))
        except Exception as error:  # noqa: BLE001 - the restore reads again and says what is wrong
            LOG.info("edalab: the snapshot in %s was not read ahead: %s", folder, error)


def read(folder: Path) -> tuple[dict, dict, dict]:
    """The snapshot's description, every service's images and S3's bytes, all read before
    anything live changes: a corrupt file is refused with the engine as it was."""
    with _preparing:  # a read ahead still running is waited for, then used once if still current
        stamp, prepared = _prepared.pop(folder, (None, None))
        try:
            if prepared is not None and stamp == (folder / META).stat().st_mtime_ns:
                return prepared
        except OSError:
            pass
    return _read_files(folder)


def _read_files(folder: Path) -> tuple[dict, dict, dict]:
    description = describe(folder)
    try:
        images = {name: containers.read(folder / "services" / name) for name in description["services"]}
        objects = s3_objects.read(folder) if "s3" in images else {}
    except Exception as error:  # unpickling raises whatever the bytes make it raise
        raise SnapshotUnusable(f"the snapshot in {folder} cannot be read ({type(error).__name__}: {error})") from None
    return description, images, objects


def _emptied_again(clear) -> str:
    """After a load that failed part way: every store emptied, as after a reset."""
    try:
        clear()
        return "the engine was emptied (as after a reset): it holds none of the labs"
    except Exception as error:  # noqa: BLE001 - said in the answer; the caller restarts the engine
        LOG.exception("edalab: emptying the engine after a failed restore failed")
        return f"emptying it again failed too ({type(error).__name__}: {error}): the engine's state is partial"


def restore(folder: Path, background, clear, expected_key: str | None = None) -> dict:
    """Replaces the engine's state with the snapshot's. `background` is the reset plugin's
    stop_all/start_all module; `clear()` empties every store and our plugins' own state (the
    reset plugin's), so a service the snapshot does not hold is left empty, as after a reset.
    `expected_key`: the caller's engine key; a snapshot saved with another is refused untouched.
    A load that fails part way empties the engine again; either way the background work is
    started for what the stores hold, so the engine is never left with its work stopped."""
    started = time.monotonic()
    description, images, objects = read(folder)
    if expected_key is not None and description.get("key") != expected_key:
        raise KeyMismatch(f"the snapshot in {folder} was saved with engine key {description.get('key')}, "
                          f"the caller's is {expected_key}")
    timings = {"read": round(time.monotonic() - started, 3), "read_ahead": description.get("read_ahead"),
               "stop": background.stop_all()}
    names = _load_order(images)
    loading = time.monotonic()
    failed = None
    try:
        timings["clear"] = clear()
        per_service = timings["services"] = {}
        for name in names:
            began = time.monotonic()
            service = SERVICE_PLUGINS.require(name)  # loads and starts a service this engine has not used yet
            if name not in HOOKS_LEFT_TO_BACKGROUND:
                service.lifecycle_hook.on_before_state_load()
            containers.apply(service, images[name], folder / "services" / name)
            if name == "s3":
                s3_objects.apply(service._provider._storage_backend, objects)
            per_service[name] = round(time.monotonic() - began, 4)
        for name in names:
            if name not in HOOKS_LEFT_TO_BACKGROUND:
                began = time.monotonic()
                _service(name).lifecycle_hook.on_after_state_load()
                per_service[name] = round(per_service[name] + time.monotonic() - began, 4)
    except Exception as error:  # noqa: BLE001 - answered as RestoreFailed, with what was done about it
        LOG.exception("edalab: restoring the snapshot failed")
        failed = f"loading {folder} failed ({type(error).__name__}: {error}); {_emptied_again(clear)}"
    finally:
        timings["load"] = round(time.monotonic() - loading, 3)
        try:
            timings["start"] = background.start_all()
        except Exception as error:  # noqa: BLE001
            LOG.exception("edalab: starting the background work after a restore failed")
            failed = (f"{failed or 'the snapshot was loaded'}; starting the engine's background work failed "
                      f"({type(error).__name__}: {error})")
    if failed:
        raise RestoreFailed(failed)
    return {"restored": names, "labs": description.get("labs", {}), "key": description.get("key"),
            "seconds": round(time.monotonic() - started, 3), "timings": timings}

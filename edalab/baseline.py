"""The baseline: every lab deployed, saved once by the engine, restored instead of redeployed.

Why this exists: `make reset` and `make up` used to deploy every lab through CloudFormation
(10+ s, growing with each lab), though the result is the same whenever the files are. After a
deploy of every lab, the engine saves its whole state (`edalab.plugins.snapshot`,
`POST /_edalab/snapshot`) with the keys below; later, when the keys still match, it restores that
state in process (`POST /_edalab/restore`, well under a second) and deploys through
CloudFormation only the labs whose files changed, then saves again.

The keys:
- the engine key: LocalStack's version, Python's, the snapshot plugin's code (it pickles and
  loads the stores), the deploy's code (`bootstrap`, `labs`) and our CloudFormation resource
  types (`*_resource.py` and their schemas). When it differs, nothing is restored: the labs are
  deployed the slow, exact way. A change to another of our plugins' behaviour is not in it
  (the stores it pickles hold LocalStack's and moto's classes only): `make reset FULL=1` then.
- a lab's key: a hash of every file its deploy reads: the lab folder (template, lab.yaml,
  post_deploy.py and the exercise files in it; not README, hints, check or solution, which no
  deploy reads), each handler folder its template names (the learner's exercise code is there),
  the exercise files lab.yaml lists elsewhere, and the template parameters given.

Everything that cannot restore says why (`BaselineUnavailable`): the caller then deploys fully.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from edalab import labs, settings
from edalab.http_call import http

SAVE_PATH = "/_edalab/snapshot"
RESTORE_PATH = "/_edalab/restore"
NOT_DEPLOY_INPUTS = {"README.md", "hints.md", "check.py"}  # read by make lab/hint/check, never by a deploy
ENGINE_CODE = ("edalab/plugins/snapshot", "edalab/bootstrap.py", "edalab/labs.py")
RESOURCE_TYPES = "edalab/plugins/*/*_resource*"  # our CloudFormation resource types and their schemas


class BaselineUnavailable(RuntimeError):
    """The snapshot cannot be used; the message says why (shown before the full deploy)."""


@dataclass
class Restored:
    seconds: float
    redeployed: dict[str, str] = field(default_factory=dict)  # stack -> outcome, for labs whose files changed
    saved: bool = False


def _files_under(path: Path) -> Iterable[Path]:
    if path.is_file():
        yield path
    elif path.is_dir():
        for found in sorted(path.rglob("*")):
            if found.is_file() and "__pycache__" not in found.parts and found.suffix != ".pyc":
                yield found


def _digest(paths: Iterable[Path], extra: object = None) -> str:
    """sha256 over each file's repository path and bytes (missing files count as absent)."""
    sha = hashlib.sha256()
    for path in sorted(set(paths)):
        sha.update(str(path.relative_to(settings.REPO_ROOT)).encode() + b"\0")
        sha.update(hashlib.sha256(path.read_bytes()).digest())
    sha.update(json.dumps(extra, sort_keys=True, default=str).encode())
    return sha.hexdigest()[:32]


def lab_inputs(lab: labs.Lab) -> list[Path]:
    """Every file a deploy of `lab` reads."""
    found = [path for path in _files_under(lab.folder)
             if path.relative_to(lab.folder).parts[0] not in (*NOT_DEPLOY_INPUTS, "solution")]
    for folder in lab.stack.handler_parameters().values():
        found += _files_under(settings.REPO_ROOT / "handlers" / folder)
    for exercise in lab.exercise_files:
        found += _files_under(settings.REPO_ROOT / exercise)
    return found


def lab_key(lab: labs.Lab, parameters: dict | None = None) -> str:
    return _digest(lab_inputs(lab), (parameters or {}).get(lab.stack.name))


def lab_keys(found: list[labs.Lab], parameters: dict | None = None) -> dict[str, str]:
    return {lab.folder.name: lab_key(lab, parameters) for lab in found}


def engine_key() -> str:
    code = [path for root in ENGINE_CODE for path in _files_under(settings.REPO_ROOT / root) if path.suffix == ".py"]
    return _digest(code + sorted(settings.REPO_ROOT.glob(RESOURCE_TYPES)),
                   {"localstack": metadata.version("localstack-core"), "python": platform.python_version()})


def _refusal(reply) -> str:
    body = reply.body if isinstance(reply.body, dict) else {}
    if "error" in body and "message" in body:
        return body["message"]
    if reply.status == 404:
        return (f"the engine does not serve {SAVE_PATH} (HTTP 404): its snapshot plugin is not loaded "
                "(a container engine without our plugins, or an engine started before they were installed)")
    return f"the engine answered HTTP {reply.status}: {reply.text[:300]}"


def save(endpoint: str, found: list[labs.Lab], parameters: dict | None = None) -> dict:
    """Asks the engine to save its state as the baseline of `found` (deployed just now)."""
    reply = http("POST", endpoint + SAVE_PATH, {"key": engine_key(), "labs": lab_keys(found, parameters)},
                 timeout=120)
    if reply.status != 200:
        raise BaselineUnavailable(f"the baseline was not saved: {_refusal(reply)}")
    return reply.body


def describe(endpoint: str) -> dict:
    """The saved baseline's description; BaselineUnavailable when there is none this engine can use."""
    reply = http("GET", endpoint + SAVE_PATH, timeout=30)
    if reply.status != 200:
        raise BaselineUnavailable(_refusal(reply))
    if reply.body.get("key") != engine_key():
        raise BaselineUnavailable("the code that saves, deploys or loads it (the snapshot plugin, the deploy, our "
                                  "CloudFormation resource types, LocalStack or Python) changed since it was saved")
    return reply.body


def restore(endpoint: str, found: list[labs.Lab], parameters: dict | None = None,
            progress: Callable[[str, str], None] = lambda name, outcome: None) -> Restored:
    """Loads the baseline into the running engine, then deploys the labs whose files changed
    since it was saved (and saves again). Raises BaselineUnavailable, saying why, when it cannot."""
    started = time.monotonic()
    saved_keys = describe(endpoint).get("labs") or {}
    reply = http("POST", endpoint + RESTORE_PATH, {}, timeout=120)
    if reply.status != 200:
        raise BaselineUnavailable(f"the restore failed: {_refusal(reply)}")
    keys = lab_keys(found, parameters)
    changed = [lab for lab in found if saved_keys.get(lab.folder.name) != keys[lab.folder.name]]
    result = Restored(seconds=time.monotonic() - started)
    if changed:
        for lab in changed:
            progress(lab.stack.name, "its files changed since the baseline was saved: deploying")
        result.redeployed = labs.deploy_all(endpoint, progress=progress, parameters=parameters, found=changed)
        save(endpoint, found, parameters)
        result.saved = True
    result.seconds = time.monotonic() - started
    return result

"""The baseline: every lab deployed, saved once by the engine, restored instead of redeployed.

Why this exists: `make reset` and `make up` used to deploy every lab through CloudFormation
(10+ s, growing with each lab), though the result is the same whenever the files are. After a
deploy of every lab, the engine saves its whole state (`edalab.plugins.snapshot`,
`POST /_edalab/snapshot`) with the keys below; later, when the keys still match, it restores that
state in process (`POST /_edalab/restore`, well under a second) and deploys through
CloudFormation only the labs whose files changed, then saves again.

The keys (computed before anything is restored or deployed, so a file edited meanwhile is
seen as changed next time, never saved under the old key):
- the engine key: the versions of LocalStack, Python, moto, dill and botocore, every
  `edalab/**/*.py` (the snapshot plugin pickles and loads the stores, the deploy and our plugins
  make what they hold; learners never edit `edalab/`, so a `git pull` of a workshop fix costs one
  full deploy instead of keeping stale state) and our CloudFormation resource types' schemas.
  When it differs, nothing is restored: the engine refuses before touching anything and the labs
  are deployed the slow, exact way.
- a lab's key: a hash of every file its deploy reads: the lab folder (template, lab.yaml,
  post_deploy.py and the exercise files in it; not README, hints, check or solution, which no
  deploy reads), each handler folder its template names (the learner's exercise code is there),
  the exercise files lab.yaml lists elsewhere, and the template parameters given. A template
  that does not parse (a learner's draft) counts by its bytes: its lab is then deployed, and that
  deploy names what is wrong.

Everything that cannot restore says why (`BaselineUnavailable`, with `engine_touched` telling
whether the engine's state was changed on the way): the caller then deploys fully. Only an answer
of our snapshot plugin counts: stock LocalStack answers an unknown POST with 200 and no body.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.client import HTTPException
from importlib import metadata
from pathlib import Path

from edalab import bootstrap, labs, settings
from edalab.http_call import http
from edalab.waiting import wait_for_or_last

SAVE_PATH = "/_edalab/snapshot"
RESTORE_PATH = "/_edalab/restore"
NOT_DEPLOY_INPUTS = {"README.md", "hints.md", "check.py"}  # read by make lab/hint/check, never by a deploy
ENGINE_CODE = "edalab/**/*.py"
RESOURCE_TYPES = "edalab/plugins/*/*_resource*"  # our CloudFormation resource types and their schemas
ENGINE_PACKAGES = ("localstack-core", "moto-ext", "moto", "dill", "botocore")
# The keys each route's answer holds (any other answer is not our snapshot plugin's).
SAVED_ANSWER, RESTORED_ANSWER = ("key", "labs", "save_seconds"), ("key", "labs", "restored", "seconds")
NOT_TOUCHED_STATUSES = (400, 404, 405, 409)  # the routes refuse these before changing anything
SETTLE_SECONDS = 15.0  # at most this long for a deploy's messages on consumed queues to be consumed before a save
STOPPED_MAPPING_STATES = ("Disabled", "Disabling", "Deleting")  # mappings that consume nothing before a save
QUEUE_COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed")


class BaselineUnavailable(RuntimeError):
    """The snapshot cannot be used; the message says why (shown before the full deploy).
    `engine_touched`: the engine's state may have changed on the way (a restore that failed part
    way, or whose answer never came), so the caller restarts it before deploying fully."""

    def __init__(self, reason: str, engine_touched: bool = False):
        super().__init__(reason)
        self.engine_touched = engine_touched


@dataclass
class Keys:
    """The engine key and every lab's key, taken at one moment (before a restore or deploy)."""
    engine: str
    labs: dict[str, str]


@dataclass
class Restored:
    seconds: float
    redeployed: dict[str, str] = field(default_factory=dict)  # stack -> outcome, for labs whose files changed
    saved: bool = False
    not_saved: str | None = None  # why the re-save after redeploying changed labs failed (a warning)
    unsettled: list[str] = field(default_factory=list)  # queues saved with messages on them (see `save`)


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
        try:
            content = path.read_bytes()
        except OSError:  # vanished (or unreadable) since it was listed: absent
            continue
        sha.update(str(path.relative_to(settings.REPO_ROOT)).encode() + b"\0")
        sha.update(hashlib.sha256(content).digest())
    sha.update(json.dumps(extra, sort_keys=True, default=str).encode())
    return sha.hexdigest()[:32]


def lab_inputs(lab: labs.Lab) -> list[Path]:
    """Every file a deploy of `lab` reads."""
    found = [path for path in _files_under(lab.folder)
             if path.relative_to(lab.folder).parts[0] not in (*NOT_DEPLOY_INPUTS, "solution")]
    try:
        handlers = lab.stack.handler_parameters()
    except bootstrap.DeployError:  # a draft template: its bytes (in the lab folder) are its key
        handlers = {}
    for folder in handlers.values():
        found += _files_under(settings.REPO_ROOT / "handlers" / folder)
    for exercise in lab.exercise_files:
        found += _files_under(settings.REPO_ROOT / exercise)
    return found


def lab_key(lab: labs.Lab, parameters: dict | None = None) -> str:
    return _digest(lab_inputs(lab), (parameters or {}).get(lab.stack.name))


def lab_keys(found: list[labs.Lab], parameters: dict | None = None) -> dict[str, str]:
    return {lab.folder.name: lab_key(lab, parameters) for lab in found}


def _versions() -> dict[str, str | None]:
    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    return {"python": platform.python_version(), **{package: version(package) for package in ENGINE_PACKAGES}}


def engine_key() -> str:
    code = [path for path in settings.REPO_ROOT.glob(ENGINE_CODE) if "__pycache__" not in path.parts]
    return _digest(code + sorted(settings.REPO_ROOT.glob(RESOURCE_TYPES)), _versions())


def current_keys(found: list[labs.Lab], parameters: dict | None = None) -> Keys:
    """The keys of the files as they are now: take them before restoring or deploying."""
    return Keys(engine_key(), lab_keys(found, parameters))


KEY_CHANGED = ("the code that saves, deploys or loads it (edalab/, our CloudFormation resource types, "
               "LocalStack, moto, dill, botocore or Python) changed since it was saved")


def _not_ours(path: str, reply) -> str:
    answered = f"HTTP {reply.status} with " + (f"{reply.text[:120]!r}" if reply.text else "an empty body")
    return (f"the engine does not serve {path} (it answered {answered}): its snapshot plugin is not loaded "
            "(a container engine, a stock engine, or an engine started before our plugins were installed)")


def _refusal(path: str, reply) -> str:
    body = reply.body if isinstance(reply.body, dict) else {}
    if body.get("error") == "KeyMismatch":
        return KEY_CHANGED
    if "error" in body and "message" in body:
        return body["message"]
    if reply.status == 404:
        return _not_ours(path, reply)
    return f"the engine answered HTTP {reply.status}: {reply.text[:300]}"


def _call(method: str, endpoint: str, path: str, body: object, expected: tuple[str, ...], doing: str,
          timeout: float, touches: bool = False) -> dict:
    """One request to a snapshot route; its answer when it is our plugin's (a JSON object with
    `expected`), else BaselineUnavailable saying why. `touches`: the request changes the state."""
    try:
        reply = http(method, endpoint + path, body, timeout=timeout)
    except (OSError, HTTPException) as error:  # refused, reset, timed out, cut short
        refused = isinstance(getattr(error, "reason", error), ConnectionRefusedError)
        raise BaselineUnavailable(f"{doing}: the engine at {endpoint} did not answer {method} {path} "
                                  f"({type(error).__name__}: {error})", engine_touched=touches and not refused) from None
    if reply.status != 200:
        raise BaselineUnavailable(f"{doing}: {_refusal(path, reply)}",
                                  engine_touched=touches and reply.status not in NOT_TOUCHED_STATUSES)
    if not isinstance(reply.body, dict) or any(key not in reply.body for key in expected):
        raise BaselineUnavailable(f"{doing}: {_not_ours(path, reply)}")
    return reply.body


def consumed_queues_unsettled(endpoint: str, timeout: float = SETTLE_SECONDS) -> list[str]:
    """Waits (at most `timeout` s) until every queue an event source mapping reads (one not
    disabled or being deleted) is empty: visible, in flight and delayed. What a deploy just put
    there (S3's `s3:TestEvent` when a bucket's notification is set up) is then consumed before
    the state is saved, instead of being saved and consumed again after every restore. Returns
    the names of the queues still holding messages then ([] when all were consumed; a message its
    function keeps failing keeps its queue here): the state is saved as it is, and the caller says
    so. BaselineUnavailable when the engine does not answer these calls."""
    from botocore.config import Config  # boto3 is only needed here, not by the key computations above
    from botocore.exceptions import BotoCoreError, ClientError

    from edalab import aws

    quick = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1})  # a hung engine fails, not waits minutes
    lam, sqs = aws.client("lambda", endpoint, quick), aws.client("sqs", endpoint, quick)
    try:
        arns = {mapping["EventSourceArn"] for page in lam.get_paginator("list_event_source_mappings").paginate()
                for mapping in page["EventSourceMappings"]
                if mapping.get("State") not in STOPPED_MAPPING_STATES
                and mapping.get("EventSourceArn", "").startswith("arn:aws:sqs:")}
        urls = {}
        for arn in sorted(arns):
            name = arn.rsplit(":", 1)[-1]
            try:
                urls[name] = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            except sqs.exceptions.QueueDoesNotExist:
                continue

        def holding() -> list[str]:
            left = []
            for name, url in urls.items():
                try:
                    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(QUEUE_COUNTS))["Attributes"]
                except sqs.exceptions.QueueDoesNotExist:  # deleted meanwhile: holds nothing
                    continue
                if any(int(counts.get(attribute, 0)) for attribute in QUEUE_COUNTS):
                    left.append(name)
            return left

        return wait_for_or_last(holding, what="the queues read by event source mappings to be consumed",
                                timeout=timeout, interval=0.2, until=lambda left: not left)
    except (BotoCoreError, ClientError) as error:
        raise BaselineUnavailable(f"the baseline was not saved: the engine did not list its queues ({error})") from None


def save(endpoint: str, found: list[labs.Lab], parameters: dict | None = None, keys: Keys | None = None) -> dict:
    """Asks the engine to save its state as the baseline of `found`, deployed from the files
    whose `keys` were taken before that deploy (now, when not given), once what the deploy put
    on consumed queues is consumed (`consumed_queues_unsettled`). The answer's `unsettled` names
    the queues whose messages were saved all the same (each restore brings them back)."""
    keys = keys or current_keys(found, parameters)
    unsettled = consumed_queues_unsettled(endpoint)
    answer = _call("POST", endpoint, SAVE_PATH, {"key": keys.engine, "labs": keys.labs}, SAVED_ANSWER,
                   "the baseline was not saved", timeout=120)
    return {**answer, "unsettled": unsettled}


def describe(endpoint: str) -> dict:
    """The saved baseline's description; BaselineUnavailable when there is none this engine can use."""
    description = _call("GET", endpoint, SAVE_PATH, None, ("key", "labs"), "no baseline to restore", timeout=30)
    if description["key"] != engine_key():
        raise BaselineUnavailable(KEY_CHANGED)
    return description


def restore(endpoint: str, found: list[labs.Lab], parameters: dict | None = None,
            progress: Callable[[str, str], None] = lambda name, outcome: None) -> Restored:
    """Loads the baseline into the running engine, then deploys the labs whose files changed
    since it was saved (and saves again). Raises BaselineUnavailable, saying why, when it cannot
    restore; a failed re-save afterwards is only noted (`Restored.not_saved`). A changed lab whose
    deploy fails raises `bootstrap.DeployError` naming it (the others stay restored)."""
    started = time.monotonic()
    keys = current_keys(found, parameters)  # before anything changes: a learner's draft must not stop us midway
    answer = _call("POST", endpoint, RESTORE_PATH, {"key": keys.engine}, RESTORED_ANSWER, "the restore failed",
                   timeout=120, touches=True)
    if answer["key"] != keys.engine:  # an engine whose route does not compare the key itself
        raise BaselineUnavailable(f"the restore failed: {KEY_CHANGED}", engine_touched=True)
    saved_keys = answer["labs"] or {}
    changed = [lab for lab in found if saved_keys.get(lab.folder.name) != keys.labs[lab.folder.name]]
    result = Restored(seconds=time.monotonic() - started)
    if changed:
        for lab in changed:
            progress(lab.stack.name, "its files changed since the baseline was saved: deploying")
        result.redeployed = labs.deploy_all(endpoint, progress=progress, parameters=parameters, found=changed)
        try:
            result.unsettled = save(endpoint, found, parameters, keys)["unsettled"]
            result.saved = True
        except BaselineUnavailable as unavailable:
            result.not_saved = str(unavailable)
    result.seconds = time.monotonic() - started
    return result

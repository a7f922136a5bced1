"""`POST /_edalab/snapshot` saves the engine's state; `POST /_edalab/restore` loads it back; `GET /_edalab/snapshot` describes it.

Why this exists: `edalab.baseline` (the `make up` / `make reset` side) asks the engine to save
after every lab is deployed and to restore instead of redeploying. The snapshot lives in the
engine's state folder (`$EDALAB_STATE_DIR/baseline`), so only an engine started with one (the
host engine) can keep one. Every refusal is a 4xx whose message says why and what to do:
404 no snapshot yet, 409 a snapshot this engine cannot use (another LocalStack version, a
corrupt file, no state folder, or one saved with another engine key than the `key` a restore's
body names: "KeyMismatch"), 400 a body that is not a JSON object, 405 another method. A restore
that fails part way answers 500: the engine is then emptied again (or, if that failed too,
partial) and the caller restarts it and deploys fully. A save holds the reset plugin's
`background.LOCK`, so no reset or restore replaces the stores while they are pickled.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

SAVE_PATH = "/_edalab/snapshot"
RESTORE_PATH = "/_edalab/restore"
FOLDER_NAME = "baseline"

_saving = threading.Lock()  # two saves at once would rename each other's folders


def snapshot_folder() -> Path | None:
    state = os.environ.get("EDALAB_STATE_DIR")
    return Path(state) / FOLDER_NAME if state else None


def _answer(document: dict, status: int = 200, **headers):
    from localstack.http import Response

    return Response.for_json(document, status=status, headers=headers or None)


def _refusal(status: int, error: str, message: str, **headers):
    return _answer({"error": error, "message": message}, status, **headers)


def _body(request) -> dict:
    raw = request.get_data(as_text=True) or "{}"
    document = json.loads(raw)
    if not isinstance(document, dict):
        raise ValueError("the body must be a JSON object")
    return document


def _folder_or_refusal():
    folder = snapshot_folder()
    if folder is None:
        return None, _refusal(409, "NoStateFolder", "this engine was started without EDALAB_STATE_DIR (a container "
                                                     "engine): it has nowhere to keep a snapshot")
    return folder, None


def serve_snapshot(request, **_ignored):
    from edalab.plugins.reset import background
    from edalab.plugins.snapshot import engine_state  # here, not at import: the engine's start does not pay it

    folder, refusal = _folder_or_refusal()
    if refusal:
        return refusal
    if request.method == "GET":
        try:
            return _answer(engine_state.describe(folder))
        except engine_state.SnapshotMissing as missing:
            return _refusal(404, "NoSnapshot", str(missing))
        except engine_state.SnapshotUnusable as unusable:
            return _refusal(409, "SnapshotUnusable", str(unusable))
    if request.method != "POST":
        return _refusal(405, "MethodNotAllowed", f"{request.method} is not served here: POST {SAVE_PATH} saves "
                        f"the engine's state, GET {SAVE_PATH} describes the saved one.", Allow="GET, POST")
    try:
        meta = _body(request)
    except ValueError as error:
        return _refusal(400, "BadRequest", f"the body is not usable ({error}): send a JSON object, e.g. "
                                           '{"key": "...", "labs": {"00-welcome": "..."}}')
    if not _saving.acquire(blocking=False):
        return _refusal(409, "SaveRunning", "another save is running; try again when it has finished")
    try:
        with background.LOCK:  # no reset or restore replaces the stores while they are pickled
            return _answer(engine_state.save(folder, meta))
    except Exception as error:  # the previous snapshot is left whole (the new one is written aside)
        return _refusal(500, "SaveFailed", f"the state could not be saved ({type(error).__name__}: {error}); "
                                           "the previous snapshot, if any, is unchanged")
    finally:
        _saving.release()


def _clear_as_a_reset_does() -> dict:
    """Every store emptied and our plugins' own state (usage counts, Insights queries, sent email,
    the inbox) cleared, by the reset plugin's own parts; raises on the first that fails."""
    from edalab.plugins.reset import own_state, stores

    took = stores.reset_all()
    failed = {name: why for name, why in took.items() if name.endswith(".error")}
    if failed:
        raise RuntimeError(f"emptying the stores failed: {failed}")
    for reset_part in own_state.PARTS.values():
        reset_part()
    return took


def serve_restore(request, **_ignored):
    if request.method != "POST":
        return _refusal(405, "MethodNotAllowed", f"{request.method} is not served here: POST {RESTORE_PATH} "
                                                 "loads the saved snapshot.", Allow="POST")
    folder, refusal = _folder_or_refusal()
    if refusal:
        return refusal
    from edalab.plugins.reset import background
    from edalab.plugins.snapshot import engine_state

    try:
        expected_key = _body(request).get("key")
    except ValueError as error:
        return _refusal(400, "BadRequest", f"the body is not usable ({error}): send a JSON object, e.g. "
                                           '{"key": "..."} (the caller\'s engine key) or {}')
    try:
        with background.LOCK:
            return _answer(engine_state.restore(folder, background, _clear_as_a_reset_does, expected_key))
    except engine_state.SnapshotMissing as missing:
        return _refusal(404, "NoSnapshot", str(missing))
    except engine_state.KeyMismatch as mismatch:
        return _refusal(409, "KeyMismatch", f"{mismatch}: the code changed since it was saved; deploy fully")
    except engine_state.SnapshotUnusable as unusable:
        return _refusal(409, "SnapshotUnusable", str(unusable))
    except engine_state.RestoreFailed as failed:
        return _refusal(500, "RestoreFailed", f"{failed}; deploy every lab again (`make reset FULL=1`)")

"""Progress: the learner's record on this machine, and a class as one table.

Why this exists: a learner sees each lab's last check, steps passed, hints seen and attempts
(what `make progress` prints); an instructor drops the class's `make progress FORMAT=json`
files onto the page, or points `EDALAB_CLASS_DIR` at a folder of them, and sees learner × lab
in one table. Reading, checking and tabulating live in `class_progress`; this module routes.
"""

from __future__ import annotations

import threading

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from edalab import labs
from edalab.console import class_progress
from edalab.console.class_progress import ClassRoster, Refused
from edalab.console.lab_status import learner
from edalab.console.templating import page

NAV = ("Progress", "/progress")
_ROSTER_LOCK = threading.Lock()


def _roster(request: Request) -> ClassRoster:
    """The files dropped onto this console (one roster per app, made on first use)."""
    state = request.app.state
    with _ROSTER_LOCK:
        if getattr(state, "class_roster", None) is None:
            state.class_roster = ClassRoster()
        return state.class_roster


def _context(request: Request) -> dict:
    view = request.app.state.view
    all_labs = labs.all_labs()
    folder = class_progress.class_dir()
    from_folder, folder_problems = class_progress.folder_documents(folder) if folder else ([], [])
    documents = _roster(request).documents() + from_folder
    you = learner(view).name
    return {"learners": class_progress.local_learners(view.state_dir / "learners", all_labs, you),
            "learners_folder": view.state_dir / "learners", "class_dir": folder,
            "folder_problems": folder_problems, "table": class_progress.class_table(documents, all_labs),
            "dropped": len(_roster(request).documents())}


def progress(request: Request):
    if request.headers.get("HX-Target") == "class-table":  # the class table polls on its own
        return page(request, "progress_class_live.html", **_context(request))
    added = request.query_params.get("added", "")
    notice = f"Added {added} progress file{'s' if added != '1' else ''} to the class table." if added.isdigit() else None
    return page(request, "progress.html", "progress_live.html", notice=notice, **_context(request))


async def add_class_files(request: Request):
    """POST of the drop zone's files: all added, or a 4xx page saying which file is wrong and why."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > class_progress.MAX_UPLOAD_BYTES:
        return _refused(request, f"The drop is {int(declared) // 1024:,} KB; the page takes up to "
                                 f"{class_progress.MAX_UPLOAD_BYTES // (1024 * 1024)} MB at once.", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > class_progress.MAX_UPLOAD_BYTES:
            return _refused(request, f"The drop is more than {class_progress.MAX_UPLOAD_BYTES // (1024 * 1024)} MB; "
                                     f"send fewer files at once.", 413)
    try:
        documents = class_progress.read_uploads(request.headers.get("content-type", ""), bytes(body))
    except Refused as refused:
        return _refused(request, str(refused), 400)
    _roster(request).add(documents)
    return RedirectResponse(f"/progress?added={len(documents)}#class", status_code=303)


def _refused(request: Request, message: str, status: int):
    return page(request, "progress.html", "progress_live.html", status_code=status, refused=message,
                **_context(request))


def clear_class(request: Request):
    _roster(request).clear()
    return RedirectResponse("/progress#class", status_code=303)


routes = [
    Route("/progress", progress),
    Route("/progress/class", add_class_files, methods=["POST"]),
    Route("/progress/class/clear", clear_class, methods=["POST"]),
]

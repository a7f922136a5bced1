"""Queues: every queue's depth and dead-letter wiring; one queue's messages, peeked, and actions.

Why this exists: a queue is where an event waits, and a dead-letter queue where it ends when
it keeps failing. This page shows both live, lets a learner look at messages without taking
them from the function that should process them, and send, purge or redrive. Reading and
shaping live in `queue_views`, the checked actions in `queue_actions`.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from edalab.console.queue_actions import Refused, message_from_form, purge, read_form, redrive, send
from edalab.console.queue_views import (PEEK_LIMIT, UnknownQueue, find_queue, move_tasks, peek, queue_attributes,
                                        queue_rows, readable_attributes)
from edalab.console.templating import page, templates

NAV = ("Queues", "/queues")


def queue_list(request: Request):
    rows = queue_rows(request.app.state.view)
    return page(request, "queues.html", "queues_live.html", queues=rows,
                alarming=[row for row in rows if row.alarming])


def _queue_or_404(view, name: str):
    try:
        return find_queue(view, name)
    except UnknownQueue:
        raise HTTPException(404, f"There is no queue called {name!r} in the engine. The Queues page lists "
                                 "every queue; a lab's queues appear once it is deployed (`make up`).") from None


def _context(view, name: str) -> dict:
    queue = _queue_or_404(view, name)
    messages = peek(view, queue)
    attributes = queue_attributes(view, queue)
    return {"queue": queue, "messages": messages[:PEEK_LIMIT], "total_peeked": len(messages),
            "attributes": readable_attributes(attributes), "tasks": move_tasks(view, queue),
            "content_dedup": attributes.get("ContentBasedDeduplication") == "true",
            "max_size": int(attributes.get("MaximumMessageSize") or 0)}


def queue_page(request: Request):
    view = request.app.state.view
    return page(request, "queue.html", "queue_live.html", **_context(view, request.path_params["name"]))


def _act(view, queue, action: str, form: dict[str, str]) -> str:
    """Does the action (engine calls: run in the thread pool) and returns what the page says."""
    if action == "send":
        attributes = queue_attributes(view, queue)
        message = message_from_form(form, queue, attributes.get("ContentBasedDeduplication") == "true")
        return send(view, queue, message)
    if action == "purge":
        return purge(view, queue)
    if action == "redrive":
        return redrive(view, queue)
    raise HTTPException(404, f"There is no action {action!r}: a queue offers send, purge and redrive.")


async def queue_action(request: Request):
    """POST send / purge / redrive: the sentence in the page's flash (htmx) or the whole page.
    Only reading the form runs on the event loop; engine calls go to the thread pool."""
    view = request.app.state.view
    name, action = request.path_params["name"], request.path_params["action"]
    queue = await run_in_threadpool(_queue_or_404, view, name)
    form: dict[str, str] = {}
    status, ok = 200, True
    try:
        form = await read_form(request)
        said = await run_in_threadpool(_act, view, queue, action, form)
    except Refused as refusal:
        said, status, ok = str(refusal), refusal.status, False
    if ok:
        view.cache.forget(("queues",))  # depths, messages and tasks changed
    headers = {"HX-Trigger": "queue-changed"} if ok else {}
    if request.headers.get("HX-Request") == "true":
        return templates.TemplateResponse(request, "queue_flash.html", {"said": said, "ok": ok},
                                          status_code=status, headers=headers)
    return page(request, "queue.html", status_code=status, flash={"said": said, "ok": ok},
                form=form, **await run_in_threadpool(_context, view, name))


routes = [
    Route("/queues", queue_list),
    Route("/queues/{name}", queue_page),
    Route("/queues/{name}/{action}", queue_action, methods=["POST"]),
]

"""Functions: every Lambda function, what invokes it, and what its invocations did.

Why this exists: a learner's event ends in a function, and what happened there is spread over
Lambda (configuration), five services (triggers), CloudWatch (counts) and the log group (each
invocation's lines). These pages put them side by side: the list, a function's page with its
recent invocations (each opening to its own log lines), and a form to invoke it by hand.
Reading and shaping live in `edalab/console/function_*.py` and `invocations.py`.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from edalab.console import function_catalog, function_invoke, function_triggers, invocations
from edalab.console.templating import page, templates

NAV = ("Functions", "/functions")
TRIGGERS_TTL = 10.0  # seconds: triggers are many calls and change only when a stack does
INVOCATIONS_WINDOW_MS = 60 * 60 * 1000  # the function page reads the last hour of its log group
TAIL_TTL = 600.0  # seconds a function's log tail is kept between reads (then read whole again)
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def _triggers(view) -> dict:
    return view.cached(("functions", "triggers"), lambda: function_triggers.all_triggers(view.client), TRIGGERS_TTL)


def _counts(view, names: list[str]) -> dict:
    cloudwatch = view.client("cloudwatch")
    return view.cached(("functions", "counts", tuple(names)), lambda: function_catalog.recent_counts(cloudwatch, names))


def _detail(view, name: str) -> dict:
    if not _NAME.match(name):
        raise HTTPException(404, f"There is no function named {name!r}. The Functions page lists every function.")
    try:
        return view.cached(("function", name, "detail"), lambda: function_catalog.function_detail(view.client("lambda"), name))
    except function_catalog.UnknownFunction:
        raise HTTPException(404, f"There is no function named {name!r}. The Functions page lists every function; "
                                 "deploy a lab with `make up` if it is empty.") from None


def _invocations(view, name: str) -> list:
    since = int(time.time() * 1000) - INVOCATIONS_WINDOW_MS
    tail = view.cached(("function", name, "log tail"), lambda: invocations.LogTail(name), TAIL_TTL)
    return view.cached(("function", name, "invocations"),
                       lambda: invocations.recent_invocations(view.client("logs"), tail, since))


def clock(ms: int | None) -> str:
    """`01:54:50 UTC` of an epoch time in milliseconds."""
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%H:%M:%S UTC")


def function_list(request: Request):
    view = request.app.state.view
    functions = view.cached(("functions", "list"), lambda: function_catalog.list_functions(view.client("lambda")))
    names = [f["FunctionName"] for f in functions]
    return page(request, "functions.html", "functions_live.html", functions=functions,
                triggers=_triggers(view), counts=_counts(view, names))


def _function_context(view, name: str) -> dict:
    detail = _detail(view, name)
    return {"name": name, "detail": detail, "clock": clock, "config": detail["configuration"],
            "triggers": _triggers(view).get(name, []), "counts": _counts(view, [name]).get(name, {}),
            "invocations": _invocations(view, name)}


def function_page(request: Request):
    view = request.app.state.view
    context = _function_context(view, request.path_params["name"])
    return page(request, "function.html", "function_live.html", **context)


def invocation_lines(request: Request):
    view = request.app.state.view
    name, request_id = request.path_params["name"], request.path_params["request_id"]
    _detail(view, name)
    found = next((i for i in _invocations(view, name) if i.request_id == request_id), None) \
        if _REQUEST_ID.match(request_id) else None
    status = 200 if found else 404
    return templates.TemplateResponse(request, "function_invocation.html",
                                      {"invocation": found, "request_id": request_id, "name": name},
                                      status_code=status)


async def invoke(request: Request):
    """POST of the invoke form. Only reading the form runs on the event loop; the engine calls
    (which last as long as the function runs) go to the thread pool, so other tabs keep polling."""
    view = request.app.state.view
    name = request.path_params["name"]
    await run_in_threadpool(_detail, view, name)
    result, error, status, payload = None, None, 200, ""
    try:
        payload = await function_invoke.read_payload(request)
        checked = function_invoke.check_payload(payload)
        result = await run_in_threadpool(function_invoke.invoke, function_invoke.invoke_client(view.endpoint),
                                         name, checked)
        view.cache.forget(("function", name))
        view.cache.forget(("functions", "counts"))
    except function_invoke.Refused as bad:
        error, status = str(bad), bad.status
    context = {"name": name, "result": result, "error": error, "payload": payload}
    if request.headers.get("HX-Request") == "true":
        return templates.TemplateResponse(request, "function_invoke_result.html", context, status_code=status)
    return page(request, "function.html", status_code=status,
                **await run_in_threadpool(_function_context, view, name), invoke=context)


routes = [
    Route("/functions", function_list),
    Route("/functions/{name}", function_page),
    Route("/functions/{name}/invocations/{request_id}", invocation_lines),
    Route("/functions/{name}/invoke", invoke, methods=["POST"]),
]

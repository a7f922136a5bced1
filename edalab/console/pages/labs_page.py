"""Labs: every lab, and a page per lab with its resources' live numbers and its check.

Why this exists: a learner works one lab at a time. Its page shows the goal, the resources the
lab deployed grouped as the README's diagram groups them (each with its live numbers and a
link to its own page), and runs the lab's check from a button with the same step-by-step
report as `make check`. The readings live in `lab_resources` and `lab_status`, the runs in
`check_runs`; this module only routes.
"""

from __future__ import annotations

import threading

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from edalab import labs
from edalab.console.check_runs import CheckRuns, check_view
from edalab.console.lab_resources import NotDeployed, lab_groups
from edalab.console.lab_status import lab_rows, learner, stack_failed, stack_failures, stack_statuses, status_class
from edalab.console.templating import page, templates

NAV = ("Labs", "/labs")
_RUNS_LOCK = threading.Lock()


def _lab_or_404(number: str) -> labs.Lab:
    try:
        return labs.find(number)
    except labs.UnknownLab as unknown:
        raise HTTPException(404, str(unknown).replace("use LAB=NN", "the Labs page lists them")) from None


def _runs(request: Request) -> CheckRuns:
    """The console's check runs (one registry per app, made on first use)."""
    state = request.app.state
    with _RUNS_LOCK:
        if getattr(state, "check_runs", None) is None:
            view = state.view
            state.check_runs = CheckRuns(view.endpoint, view.state_dir / "learners")
        return state.check_runs


def lab_list(request: Request):
    view = request.app.state.view
    health = view.health()
    return page(request, "labs.html", "labs_live.html", health=health, labs=lab_rows(view, healthy=bool(health)))


def _check_context(request: Request, lab: labs.Lab, notice: str | None = None) -> dict:
    """The check panel: this console's latest run of the lab, else the journal's last check."""
    run = _runs(request).latest(lab.number)
    if run is not None:
        report, source = run.view(), "console"
    else:
        runs = learner(request.app.state.view).runs(lab.number)
        report, source = (_journal_report(lab, runs[-1]) if runs else None), "journal"
    return {"lab": lab, "report": report, "source": source, "notice": notice}


def _journal_report(lab: labs.Lab, run: dict) -> dict:
    """The last journaled check (from `make check` or an earlier console) in the same words."""
    events = [{"event": "check_started", "steps": [{"number": s["number"], "title": s["title"]} for s in run["steps"]]},
              *run["steps"],
              {"event": "check_finished", "lab": lab.number, "passed": run["passed"], "seconds": run["seconds"]}]
    report = check_view(lab.number, events, len(lab.hints()))
    report["when"] = run["finished"]
    return report


def lab_page(request: Request):
    view = request.app.state.view
    lab = _lab_or_404(request.path_params["number"])
    health = view.health()
    groups, not_deployed, status, failures = [], False, None, []
    if health:
        status = stack_statuses(view).get(lab.stack.name)
        if status and stack_failed(status):
            failures = stack_failures(view, lab.stack.name)
        try:
            groups = lab_groups(view, lab)
        except NotDeployed:
            not_deployed = True
    return page(request, "lab.html", "lab_live.html", health=health, groups=groups, not_deployed=not_deployed,
                status=status, status_class=status_class(status or ""), failures=failures,
                **_check_context(request, lab))


def check_panel(request: Request):
    lab = _lab_or_404(request.path_params["number"])
    return templates.TemplateResponse(request, "lab_check.html", _check_context(request, lab))


def start_check(request: Request):
    """POST: starts the lab's check in the background (one at a time per lab)."""
    lab = _lab_or_404(request.path_params["number"])
    view = request.app.state.view
    if not view.health():
        notice = "The engine does not answer, so the check cannot run. Start it with `make up`."
    else:
        run, started = _runs(request).start(lab)
        notice = None if started else (f"A check of lab {lab.number} is already running (started "
                                       f"{int(run.view()['elapsed'])} s ago); its report is below.")
        view.cache.forget(("lab", lab.number))
    if request.headers.get("HX-Request") != "true":  # a plain form post: back to the page
        return RedirectResponse(f"/labs/{lab.number}#check", status_code=303)
    return templates.TemplateResponse(request, "lab_check.html", _check_context(request, lab, notice))


routes = [
    Route("/labs", lab_list),
    Route("/labs/{number}", lab_page),
    Route("/labs/{number}/check", check_panel, methods=["GET"]),
    Route("/labs/{number}/check", start_check, methods=["POST"]),
]

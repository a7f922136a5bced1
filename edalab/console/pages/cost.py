"""Cost: lab 08's experiments side by side, priced from what the engine measured.

Why this exists: the report of `make report LAB=08` (a table per experiment and cost per million
events against p95 latency, the Pareto frontier marked) belongs where the learner already watches
the system work. The numbers and the HTML are `edalab.cost.report` and `report_render`'s, the same
as the written report's; this module only answers requests. The page polls, and is redrawn only
when a run record, prices.yaml, choice.yaml, lab.yaml or experiments.yaml changed (otherwise the poll gets 204 and
htmx leaves the page, and any open cost lines, alone).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edalab.cost import pricing, report, report_render
from edalab.console.templating import page

NAV = ("Cost", "/cost")


def inputs_version(state_dir: Path) -> str:
    """A short fingerprint of every file the report reads (name, size, modification time)."""
    folder = report.runs_folder(state_dir)
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    files += [pricing.DEFAULT_PATH, report.CHOICE_FILE, report.LAB_FOLDER / "lab.yaml",
              report.LAB_FOLDER / "experiments.yaml"]
    seen = []
    for path in files:
        try:
            facts = path.stat()
            seen.append(f"{path}:{facts.st_size}:{facts.st_mtime_ns}")
        except OSError:
            seen.append(f"{path}:absent")
    return hashlib.sha256("\n".join(seen).encode()).hexdigest()[:16]


def cost_page(request: Request):
    view = request.app.state.view
    version = inputs_version(view.state_dir)
    if request.headers.get("HX-Request") == "true" and request.query_params.get("seen") == version:
        return Response(status_code=204)  # nothing changed: htmx swaps nothing
    built, problem = None, None
    try:
        built = view.cached(("cost-report", version), lambda: report.build(view.state_dir), ttl=60)
    except report.RunRecordError as error:
        problem = ("A run record cannot be used", str(error))
    except pricing.PriceError as error:
        problem = ("prices.yaml cannot be used", str(error))
    body = report_render.html_body(built) if built and built.rows else ""
    return page(request, "cost.html", "cost_live.html", report=built, body=body, problem=problem, version=version,
                runs_folder=report.runs_folder(view.state_dir))


routes = [Route("/cost", cost_page)]

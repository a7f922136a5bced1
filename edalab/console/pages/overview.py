"""Overview: is the engine up, and where does each lab stand.

Why this exists: the first page a learner opens. It answers "is it running?" and "which lab
is deployed?" before anything else, and lists whatever is red first.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from edalab import labs
from edalab.console.templating import page

NAV = ("Overview", "/")


def stack_statuses(view) -> dict[str, str]:
    """Every stack's status by name (deleted stacks left out)."""
    def read() -> dict[str, str]:
        cloudformation = view.client("cloudformation")
        statuses = {}
        for result in cloudformation.get_paginator("describe_stacks").paginate():
            for stack in result["Stacks"]:
                statuses[stack["StackName"]] = stack["StackStatus"]
        return statuses
    return view.cached(("stacks",), read)


def overview(request: Request):
    view = request.app.state.view
    health = view.health()
    statuses = stack_statuses(view) if health else {}
    rows = [{"lab": lab, "status": statuses.get(lab.stack.name, "not deployed")} for lab in labs.all_labs()]
    return page(request, "overview.html", "overview_live.html", health=health, labs=rows)


routes = [Route("/", overview)]

"""Dashboards: every CloudWatch dashboard, each drawn from its PutDashboard body, live.

Why this exists: lab 07 has learners build a dashboard with PutDashboard (or CloudFormation) and
look at it. This page lists them (`ListDashboards`) and draws one as CloudWatch lays it out: its
widgets on the 24-column grid, metric widgets as charts or big numbers from `GetMetricData`, text
widgets as Markdown. Translating the body is `dashboard_body.py`; asking the engine and filling
the widgets is `dashboard_widgets.py`.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from edalab.console import dashboard_widgets
from edalab.console.templating import page

NAV = ("Dashboards", "/dashboards")


def dashboard_list(request: Request):
    view = request.app.state.view
    return page(request, "dashboards.html", "dashboards_live.html",
                dashboards=dashboard_widgets.dashboard_list(view))


def dashboard_page(request: Request):
    view = request.app.state.view
    name = request.path_params["name"]
    if not dashboard_widgets.valid_name(name):
        raise HTTPException(400, f"{name[:80]!r} cannot be a dashboard name: a name is 1 to 255 letters, digits, "
                                 "dashes (-) and underscores (_). See every dashboard on /dashboards.")
    try:
        shown = dashboard_widgets.dashboard(view, name)
    except dashboard_widgets.UnknownDashboard:
        raise HTTPException(404, f"There is no dashboard named {name!r}. Every dashboard the engine holds is "
                                 "listed on /dashboards; put one with `aws cloudwatch put-dashboard` or a "
                                 "template's AWS::CloudWatch::Dashboard.") from None
    return page(request, "dashboard.html", "dashboard_live.html", dashboard=shown)


routes = [Route("/dashboards", dashboard_list), Route("/dashboards/{name}", dashboard_page)]

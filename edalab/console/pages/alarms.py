"""Alarms: every CloudWatch alarm's state and why, and one alarm's history and metric chart.

Why this exists: an alarm is how a learner notices a broken flow (lab 04's DLQ alarm emails the
on-call inbox). This page shows each alarm red, green or grey, what it watches and when it fires;
an alarm's own page adds its state changes, newest first, and its metric over the last 30 minutes
with the threshold line (a composite alarm shows its rule and its children's states instead).
Reading and wording live in `edalab/console/alarm_details.py`.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from edalab.console import alarm_details
from edalab.console.templating import page

NAV = ("Alarms", "/alarms")


def alarm_list(request: Request):
    view = request.app.state.view
    return page(request, "alarms.html", "alarms_live.html", alarms=alarm_details.all_alarms(view))


def alarm_page(request: Request):
    view = request.app.state.view
    name = request.path_params["name"]
    if not alarm_details.valid_name(name):
        raise HTTPException(400, f"{name[:80]!r} cannot be an alarm name: a name is 1 to "
                                 f"{alarm_details.MAX_NAME} printable characters. See every alarm on /alarms.")
    alarm = alarm_details.find(view, name)
    if alarm is None:
        raise HTTPException(404, f"There is no alarm named {name!r}. Every alarm the engine holds is listed "
                                 "on /alarms; a lab's alarms appear once it is deployed (`make deploy LAB=04`).")
    return page(request, "alarm.html", "alarm_live.html", alarm=alarm,
                history=alarm_details.history(view, name), chart=alarm_details.chart(view, alarm))


routes = [Route("/alarms", alarm_list), Route("/alarms/{name:path}", alarm_page)]

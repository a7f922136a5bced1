"""Jinja2 templates for the console, with the filters every page uses.

Why this exists: pages render server-side; a page shows itself whole on a normal request and
only its live part when htmx polls (`HX-Request` header), so each page module calls `page()`
instead of repeating that choice. Filters turn engine answers into what a learner reads:
pretty JSON, ages and durations.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

from starlette.requests import Request
from starlette.templating import Jinja2Templates

TEMPLATES = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES))


def pretty_json(value) -> str:
    """JSON text (or a JSON string) indented; anything else as it is."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, sort_keys=False, default=str)


def age(seconds: float | int | None) -> str:
    """`42 s`, `3 min`, `2 h`: how long ago, or how old."""
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def since(moment) -> str:
    """Age of a datetime or an epoch time (seconds or milliseconds)."""
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        return age(time.time() - moment.timestamp())
    moment = float(moment)
    return age(time.time() - (moment / 1000 if moment > 1e11 else moment))


templates.env.filters.update(pretty_json=pretty_json, age=age, since=since)


def page(request: Request, template: str, live_template: str | None = None, status_code: int = 200, **context):
    """The whole page, or only `live_template` (its polled part) when htmx asks."""
    from edalab.console.pages import NAVIGATION

    context.update(request=request, navigation=NAVIGATION, view=request.app.state.view)
    polled = request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == "live"
    name = live_template if polled and live_template else template
    return templates.TemplateResponse(request, name, context, status_code=status_code)

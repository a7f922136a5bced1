"""The console's pages, one module each, in the order of the navigation bar.

Each page module has `NAV = (title, path)` (or None when it is not in the bar) and `routes`,
a list of Starlette routes. A page's template extends `base.html` and puts its live part in
`<div id="live" hx-get="…" hx-trigger="every 2s" …>`, rendered by its own template so a poll
returns only that part (see `templating.page`).
"""

from __future__ import annotations

from edalab.console.pages import alarms, cost, dashboards, functions, labs_page, mail, overview, progress, queues, traces

PAGES = [overview, labs_page, queues, functions, alarms, dashboards, cost, traces, mail, progress]
NAVIGATION = [page.NAV for page in PAGES if getattr(page, "NAV", None)]

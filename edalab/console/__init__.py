"""The local console: a web page per part of the running system, live, offline.

Why this exists: learners cannot see an event-driven system in `awslocal` output. The console
shows how events travel (queues, functions and their invocations, alarms, dashboards, mail,
progress) in a browser, updating itself. It is its own process (`make console`, or started by
`make up`) and speaks to the engine only through the AWS APIs and LocalStack's documented
developer endpoints, so it works the same in host and container mode.

Starlette serves server-rendered Jinja2 pages; htmx (vendored in `static/`) swaps in fresh
fragments every couple of seconds; uPlot (vendored) draws the charts. Nothing loads from
another host.

- `app.py` builds the Starlette app from the page modules in `pages/`;
- `engine_view.py` is the one door to the engine: clients, and a short-lived cache shared
  by every open tab;
- `guards.py` keeps it local (loopback only, POSTs from our own origin, errors as pages);
- `server.py` runs it (`python -m edalab.console`).
"""

"""Traces: lab 11's correlation ids, newest first, and one id's path drawn as a waterfall.

Why this exists: X-Ray is not in the community engine, so the console shows what `make trace`
shows: the correlation ids the intake logged, each with its outcome (stored, refused, dead-lettered,
in flight), and `/traces/{id}` with the id's hops as a server-side SVG waterfall (a DLQ ending in
red) and a table of where each hop was recorded. Gathering and drawing are `edalab.tracing`'s; the
engine is read through the view's AWS clients and the queue-peek developer endpoint, cached like
every page's reads, so open tabs share one read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError
from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from edalab import tracing
from edalab.console.engine_view import EngineUnavailable
from edalab.console.templating import page
from edalab.queue_peek import PeekFailed, messages_from
from edalab.tracing import svg
from edalab.tracing.waterfall import describe, milliseconds

NAV = ("Traces", "/traces")
RECENT_WINDOW = timedelta(hours=3)  # how far back the list looks in the intake's log group
RECENT_SHOWN = 50
LIST_TTL = 2.0  # the list reads both log groups, both queues and the table: share it between polls


class ViewEngine(tracing.Engine):
    """`edalab.tracing`'s two ways of reading, through the console's view (its clients, its
    developer endpoint)."""

    def __init__(self, view) -> None:
        super().__init__(view.endpoint)
        self.view = view

    def client(self, service: str):
        return self.view.client(service)

    def peek(self, queue_url: str):
        try:
            answer = self.view.developer("/_aws/sqs/messages", {"QueueUrl": queue_url, "ShowInvisible": "true"})
        except EngineUnavailable as error:
            raise PeekFailed(str(error)) from None
        return messages_from(answer or {})


def recent(view) -> tuple[list[tracing.Summary], list[str]]:
    def read():
        engine = ViewEngine(view)
        since_ms = int((datetime.now(UTC) - RECENT_WINDOW).timestamp() * 1000)
        problems: list[str] = []
        newest = tracing.newest_ids(engine, since_ms, RECENT_SHOWN, problems)  # then only their records
        records = tracing.read_records(engine, since_ms=since_ms, correlation_ids=newest)
        return tracing.summaries(records, RECENT_SHOWN), problems + records.problems
    return view.cached(("traces",), read, ttl=LIST_TTL)


def trace_list(request: Request):
    view = request.app.state.view
    problem = None
    try:
        found, notes = recent(view)
    except (ClientError, BotoCoreError, EngineUnavailable, OSError) as error:
        found, notes, problem = [], [], f"The engine could not be read: {error}"
    return page(request, "traces.html", "traces_live.html", traces=found, notes=notes, problem=problem,
                window_hours=int(RECENT_WINDOW.total_seconds() // 3600), milliseconds=milliseconds)


def trace_page(request: Request):
    view = request.app.state.view
    correlation_id = request.path_params["id"]
    if not tracing.valid_id(correlation_id):
        raise HTTPException(400, f"{correlation_id[:80]!r} cannot be a correlation id: one is 1 to 64 characters of "
                                 "letters, digits and . _ : -. Every id the intake logged is listed on /traces.")
    try:
        trace = view.cached(("trace", correlation_id), lambda: tracing.gather(ViewEngine(view), correlation_id))
    except (ClientError, BotoCoreError, EngineUnavailable, OSError) as error:
        raise HTTPException(503, f"The engine could not be read for this trace: {error}") from None
    if not trace.found:
        raise HTTPException(404, f"No hop recorded the correlation id {correlation_id!r}: neither lab 11 function "
                                 "logged it and no queue holds a message carrying it. Ids come from the answer of "
                                 "POST /feedback (its correlation_id and X-Correlation-Id header); /traces lists "
                                 "the newest ones.")
    return page(request, "trace.html", "trace_live.html", trace=trace, waterfall=Markup(svg.render(trace)),
                describe=describe, milliseconds=milliseconds)


routes = [Route("/traces", trace_list), Route("/traces/{id}", trace_page)]

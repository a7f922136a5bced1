"""Lab 11's traces: one correlation id's path through the feedback pipeline, from what the engine recorded.

Why this exists: X-Ray is not in LocalStack's community engine, so a learner (and lab 11's check,
and its load run) needs another way to see a submission travel intake → queue → store → table.
Every hop of lab 11 carries the caller's correlation id (`X-Correlation-Id`); this package gathers
the hops that id left in the engine's own records, never in a test's bookkeeping:
- the functions' log groups `/aws/lambda/feedback-intake` and `/aws/lambda/feedback-store`
  (FilterLogEvents with the filter pattern `{ $.correlation_id = "<id>" }`, and each invocation's
  REPORT line for when it started and how long it ran),
- the queue `edalab-feedback` and its DLQ `edalab-feedback-dlq`, peeked without receiving
  (`edalab.queue_peek`: nothing is hidden, no receive is counted),
- the table `edalab-feedback`'s item (its `stored_at` and the correlation id it holds).

Public API (lab 11's check, the load run, `make trace`, the console's Traces page):

    from edalab import tracing
    trace = tracing.gather(endpoint, "my-id-1")   # one id: reads only its records
    trace.hops            # [Hop]: kind ("intake" | "queue" | "store" | "dlq" | "table"), name,
                          #   started_at (UTC datetime), duration_ms (None: open or a moment),
                          #   outcome, feedback_id, attempt (a store's receive count), correlation_id,
                          #   source (where the engine recorded it), details
    trace.complete        # every accepted submission reached the table, same id at every hop
    trace.ended_in_dlq    # a message of this id is on the DLQ (its last hop is red)
    trace.missing         # sentences: what a complete path lacks
    trace.outcome         # "stored" | "refused" | "dead-lettered" | "in flight" | "failed" (every attempt
                          #   failed, on no queue now) | "item missing" (stored, item since deleted) | "not found"

    records = tracing.read_records(endpoint)       # every record at once (one read of each source)
    trace = tracing.build(records, "my-id-1")      # pure: many traces from one read
    tracing.summaries(records)                     # newest first: id, outcome, start, hops (the console's list)
    tracing.read_records(endpoint, correlation_ids=tracing.newest_ids(endpoint, limit=50))  # only the newest 50

Retries are repeated `store` hops (attempt 1, 2, 3) with `queue` "retry" hops between them; a
dead-lettered message ends with a `dlq` hop. Drawing: `terminal.render(trace)` (rich) and
`svg.render(trace)` (the console); `command.main` is `make trace ID=…`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from edalab.tracing.build import build
from edalab.tracing.model import Hop, Trace
from edalab.tracing.records import Engine, Records, newest_ids, read_records, valid_id

__all__ = ["Engine", "Hop", "Records", "Summary", "Trace", "build", "gather", "newest_ids", "read_records", "summaries",
           "valid_id"]


def gather(engine_or_endpoint, correlation_id: str) -> Trace:
    """One correlation id's trace (raises ValueError for a string that cannot be an id)."""
    return build(read_records(engine_or_endpoint, correlation_id), correlation_id)


@dataclass
class Summary:
    correlation_id: str
    outcome: str
    started_at: datetime | None
    hops: int
    duration_ms: float
    stores: int  # store attempts (more than 1: retried)


def summaries(records: Records, limit: int = 50) -> list[Summary]:
    """The `limit` newest correlation ids the intake logged, each with its trace's outcome."""
    found = []
    for correlation_id in reversed(records.correlation_ids()[-limit:]):
        trace = build(records, correlation_id)
        found.append(Summary(correlation_id, trace.outcome, trace.started_at, len(trace.hops), trace.duration_ms,
                             sum(1 for hop in trace.hops if hop.kind == "store")))
    return found

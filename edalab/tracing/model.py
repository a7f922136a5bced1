"""A trace as the waterfall draws it: hops in time order, each with its start, duration and outcome.

Why this exists: the terminal (`make trace`), the console's Traces page, lab 11's check and the
load run all ask the same questions of one correlation id's path (did it reach the table? did it
end in the DLQ? which hop is missing?); they ask them of these two classes, never of raw log lines.
A store retried by the queue is one `store` hop per receive (its `attempt` is the message's
ApproximateReceiveCount), with a `queue` hop between attempts for the wait until the message was
visible again; a dead-lettered message ends with a `dlq` hop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

KINDS = ("intake", "queue", "store", "table", "dlq")
# outcomes that end a path well or badly (the renderers colour by these)
GOOD_OUTCOMES = {"accepted", "delivered", "stored", "duplicate", "written"}
BAD_OUTCOMES = {"refused", "failed", "dead-lettered", "timed out", "item missing"}


@dataclass
class Hop:
    kind: str  # one of KINDS
    name: str  # the function, queue or table it happened in
    started_at: datetime  # UTC
    duration_ms: float | None  # None: still going, or a moment with no length known (the DLQ's arrival)
    outcome: str  # accepted, refused, delivered, waiting, retry, stored, duplicate, failed, written, dead-lettered
    feedback_id: str = ""
    attempt: int | None = None  # a store hop's receive count (1, 2, 3); a queue hop's next attempt
    correlation_id: str = ""  # as this hop recorded it (the trace checks they all agree)
    source: str = ""  # where the engine recorded it: a log group, a queue peek, a table item
    details: dict = field(default_factory=dict)  # errors, message ids, the invocation's request id, ...

    @property
    def ended_at(self) -> datetime | None:
        from datetime import timedelta

        return None if self.duration_ms is None else self.started_at + timedelta(milliseconds=self.duration_ms)

    @property
    def label(self) -> str:
        """`store #2` for a retried store, the kind otherwise."""
        if self.kind == "store" and self.attempt:
            return f"store #{self.attempt}"
        if self.kind == "queue" and self.outcome == "retry":
            return "queue (retry)"
        return self.kind


@dataclass
class Trace:
    correlation_id: str
    hops: list[Hop]  # sorted by start
    missing: list[str] = field(default_factory=list)  # sentences: what a complete path lacks

    @property
    def found(self) -> bool:
        return bool(self.hops)

    @property
    def feedback_ids(self) -> list[str]:
        return list(dict.fromkeys(hop.feedback_id for hop in self.hops if hop.feedback_id))

    @property
    def ended_in_dlq(self) -> bool:
        return any(hop.kind == "dlq" for hop in self.hops)

    @property
    def refused(self) -> bool:
        return any(hop.kind == "intake" and hop.outcome == "refused" for hop in self.hops) and not self.feedback_ids

    @property
    def complete(self) -> bool:
        """Every accepted submission went intake → queue → store → table, and every hop recorded
        the same correlation id."""
        return self.found and not self.missing and any(hop.kind == "table" for hop in self.hops)

    @property
    def outcome(self) -> str:
        """stored | refused | dead-lettered | in flight (on the queue, or not yet received) | failed (every
        attempt failed and the message is on no queue now: redriven or purged) | item missing (stored,
        but the table no longer has it) | not found."""
        if not self.hops:
            return "not found"
        if self.ended_in_dlq:
            return "dead-lettered"
        if self.complete:
            return "stored"
        if self.refused:
            return "refused"
        if any(hop.outcome == "waiting" for hop in self.hops):
            return "in flight"
        stores = [hop for hop in self.hops if hop.kind == "store"]
        if not stores or stores[-1].outcome == "no outcome logged":
            return "in flight"
        if any(hop.outcome in ("stored", "duplicate") for hop in stores):
            return "item missing"
        return "failed"

    @property
    def started_at(self) -> datetime | None:
        return self.hops[0].started_at if self.hops else None

    @property
    def ended_at(self) -> datetime | None:
        ends = [hop.ended_at or hop.started_at for hop in self.hops]
        return max(ends) if ends else None

    @property
    def duration_ms(self) -> float:
        if not self.hops:
            return 0.0
        return (self.ended_at - self.started_at).total_seconds() * 1000

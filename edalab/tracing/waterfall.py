"""A trace laid out as a waterfall: one row per hop, its offset from the trace's start and its length.

Why this exists: the terminal (`terminal.py`, rich) and the console (`svg.py`, server-side SVG) draw
the same picture; the arithmetic (where a bar starts, how long it is, which colour its outcome gets,
the time axis's ticks) is done here once, in milliseconds from the first hop.
"""

from __future__ import annotations

from dataclasses import dataclass

from edalab.tracing.model import BAD_OUTCOMES, GOOD_OUTCOMES, Hop, Trace

NICE_STEPS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 30_000, 60_000,
                 120_000, 300_000, 600_000)


@dataclass
class Row:
    hop: Hop
    label: str  # "intake", "store #2", ...
    offset_ms: float  # from the trace's first hop
    duration_ms: float | None
    tone: str  # "good", "bad", "wait", "dlq": what colour the bar is

    @property
    def end_ms(self) -> float:
        return self.offset_ms + (self.duration_ms or 0.0)


@dataclass
class Waterfall:
    rows: list[Row]
    span_ms: float  # the axis' length: the latest end, at least 1 ms
    ticks_ms: list[float]


def tone(hop: Hop) -> str:
    if hop.kind == "dlq":
        return "dlq"
    if hop.outcome in BAD_OUTCOMES:
        return "bad"
    if hop.outcome in GOOD_OUTCOMES:
        return "good"
    return "wait"  # waiting, retry, no outcome logged


def layout(trace: Trace, ticks: int = 5) -> Waterfall:
    if not trace.hops:
        return Waterfall([], 1.0, [0.0])
    origin = trace.started_at
    rows = [Row(hop, hop.label, (hop.started_at - origin).total_seconds() * 1000, hop.duration_ms, tone(hop))
            for hop in trace.hops]
    span = max(1.0, max(row.end_ms for row in rows))
    return Waterfall(rows, span, axis_ticks(span, ticks))


def axis_ticks(span_ms: float, wanted: int = 5) -> list[float]:
    """0 and round steps up to `span_ms`, about `wanted` of them."""
    step = next((s for s in NICE_STEPS_MS if span_ms / s <= wanted), NICE_STEPS_MS[-1])
    count = int(span_ms // step)
    return [n * step for n in range(count + 1)]


def milliseconds(value: float | None) -> str:
    """`0 ms`, `12 ms`, `1.25 s`, `2 min 5 s`; `—` for no length."""
    if value is None:
        return "—"
    if value < 1000:
        return f"{value:.0f} ms"
    if value < 60_000:
        return f"{value / 1000:.2f} s"
    minutes, seconds = divmod(value / 1000, 60)
    return f"{minutes:.0f} min {seconds:.0f} s"


def describe(hop: Hop, limit: int | None = None, brief: bool = False) -> str:
    """What the outcome column says: the outcome and what the engine recorded with it (cut to
    `limit` characters when given; `brief`: without the errors, which a picture's row cannot hold)."""
    words = hop.outcome
    details = hop.details
    if brief and hop.kind == "intake" and details.get("errors"):
        words += f" ({len(details['errors'])} reasons)" if isinstance(details["errors"], list) else ""
    elif hop.kind == "intake" and details.get("errors"):
        errors = details["errors"]
        words += ": " + ("; ".join(map(str, errors)) if isinstance(errors, list) else str(errors))
    if hop.kind == "intake" and details.get("escalated"):
        words += " (escalated to the support team)"
    if hop.kind == "store" and details.get("error") and not brief:
        words += f": {details['error']}"
    if hop.kind == "dlq":
        failed = details.get("failed_attempts")  # what the store's log shows; SQS's own count can be one more
        words += (f" after {failed} failed receive{'s' if failed != 1 else ''}" if failed
                  else f" (SQS counted {details.get('receive_count', '?')} receives)")
    if hop.outcome == "waiting":
        words += f" (received {details.get('receive_count', 0)} times so far)"
    return words if limit is None or len(words) <= limit else words[:limit - 1] + "…"

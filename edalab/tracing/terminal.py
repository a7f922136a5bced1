"""The waterfall in a terminal, drawn with rich: a table of hops with a bar per hop.

Why this exists: `make trace ID=…` prints one correlation id's path where the learner already is.
Each row says the hop, where it ran, when it started (from the first hop), how long it took and its
outcome, and draws its bar on a shared time axis: green for a hop that went well, red for a failure,
grey for waiting; a DLQ ending is a red ◆ on the DLQ's row.
"""

from __future__ import annotations

import re

from rich.console import Group
from rich.table import Table
from rich.text import Text

from edalab.tracing.model import Trace
from edalab.tracing.waterfall import Row, describe, layout, milliseconds

BAR_WIDTH = 40
OUTCOME_WIDTH = 90  # the console's trace page shows an error whole
STYLES = {"good": "green", "bad": "bold red", "wait": "grey50", "dlq": "bold red"}
OUTCOME_STYLES = {"stored": "bold green", "refused": "yellow", "dead-lettered": "bold red", "failed": "bold red",
                  "item missing": "yellow", "in flight": "grey50", "not found": "grey50"}


def bar(row: Row, span_ms: float, width: int = BAR_WIDTH) -> Text:
    start = min(width - 1, int(row.offset_ms / span_ms * width))
    text = Text(" " * start)
    if row.tone == "dlq":
        text.append("◆ DLQ", style=STYLES["dlq"])
    elif row.duration_ms is None:
        text.append("▷ …", style=STYLES["wait"])
    else:
        length = max(1, round(row.duration_ms / span_ms * width))
        text.append("█" * min(length, width - start), style=STYLES[row.tone])
    return text


def began(trace: Trace) -> str:
    return trace.started_at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC" if trace.started_at else "—"


def outcome(row: Row) -> str:
    """The outcome column: a store's failure as its error's type and AWS error code (the whole
    message is on the console's trace page and in the store's log), else what `describe` says."""
    error = row.hop.details.get("error") if row.hop.kind == "store" else None
    if not error:
        return describe(row.hop, OUTCOME_WIDTH)
    kind = str(error).split(":", 1)[0]
    code = re.search(r"An error occurred \((\w+)\)", str(error))
    return f"{row.hop.outcome}: {code.group(1) if code else kind}"


def bar_width(console_width: int) -> int:
    """The bars get what the text columns leave of the terminal (at most 40, at least 10)."""
    return max(10, min(BAR_WIDTH, console_width - 85))


def render(trace: Trace, console_width: int = 120) -> Group:
    """The heading, the waterfall table and what is missing, as one rich renderable."""
    waterfall = layout(trace)
    width = bar_width(console_width)
    heading = Text.assemble(("trace ", "bold"), (trace.correlation_id, "bold cyan"), "  ",
                            (trace.outcome, OUTCOME_STYLES.get(trace.outcome, "")),
                            f"  ·  {len(trace.hops)} hops over {milliseconds(trace.duration_ms)}"
                            f"  ·  began {began(trace)}")
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    narrow = console_width < 100  # an 80-column terminal: the hop's name says where it ran
    columns = ("hop", "start", "took", "outcome") if narrow else ("hop", "where", "start", "took", "outcome")
    for column in columns:
        table.add_column(column, no_wrap=column != "outcome", overflow="fold")
    table.add_column(f"0 → {milliseconds(waterfall.span_ms)}", no_wrap=True, min_width=width)
    for row in waterfall.rows:
        style = STYLES[row.tone] if row.tone in ("bad", "dlq") else None
        cells = [Text(row.label, style=style or ""), row.hop.name, f"+{milliseconds(row.offset_ms)}",
                 milliseconds(row.duration_ms), Text(outcome(row), style=style or ""), bar(row, waterfall.span_ms, width)]
        table.add_row(*(cells[:1] + cells[2:] if narrow else cells))
    parts = [heading, table]
    if trace.missing and trace.outcome not in ("refused", "dead-lettered"):
        parts.append(Text("not complete: " + "; ".join(trace.missing), style="yellow"))
    feedback = ", ".join(trace.feedback_ids)
    if feedback:
        parts.append(Text(f"feedback id(s): {feedback}  ·  read from the log groups, the queues (peeked) "
                          "and the table", style="grey50"))
    return Group(*parts)

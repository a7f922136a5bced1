"""`make report LAB=08`: the report of the experiments you ran, priced with prices.yaml as it is now.

Why this exists: the lab's exercise is a choice made from measured runs. This command reads every
run record `make experiment LAB=08 NAME=…` wrote, reprices each with the current prices.yaml, and
writes report.md, report.html, report.svg (the chart) and report.json (raw counts and every cost
line) into the state folder, then prints a summary table. The computing is `edalab.cost.report`,
the files `edalab.cost.report_render`.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from edalab.cost import pricing, report, report_render


def summary_table(built: report.Report) -> Table:
    table = Table(title="Lab 08 runs, cheapest per million events first")
    for name in ("run", "events", "p50 ms", "p95 ms", "events/s", "per million events", "target", "frontier"):
        table.add_column(name, justify="left" if name in ("run", "target", "frontier") else "right", no_wrap=True)
    for row in sorted(built.rows, key=lambda row: (row.usd_per_million is None, row.usd_per_million or 0, row.p95)):
        name = row.name + (" (your choice)" if row.name == built.choice else "") + (" *" if row.modelled else "")
        table.add_row(name, f"{row.events:,}", f"{row.p50:,.0f}", f"{row.p95:,.0f}", f"{row.throughput:,.1f}",
                      report_render.usd(row.usd_per_million), "meets" if row.meets_target else "misses",
                      "yes" if row.on_frontier else "")
    return table


def as_text(table: Table) -> list[str]:
    """The table drawn as plain lines (no colour), so it goes through `say` like every other line."""
    buffer = io.StringIO()
    Console(file=buffer, width=120, color_system=None, highlight=False).print(table)
    return buffer.getvalue().rstrip("\n").splitlines()


def run(endpoint, args, say) -> int:
    try:
        built = report.build()
    except report.RunRecordError as error:
        say(f"A run record cannot be used: {error}")
        return 1
    except pricing.PriceError as error:
        say(f"prices.yaml cannot be used: {error}")
        return 1
    if not built.rows:
        say(f"No experiment run yet (nothing in {report.runs_folder()}): run `make experiment LAB=08 NAME=…` "
            "first; `make experiment LAB=08` lists them.")
        return 1
    written = report_render.write_all(built)
    for line in as_text(summary_table(built)):
        say(line)
    if built.shows_memory:
        say(("* " if any(row.modelled for row in built.rows) else "") + built.memory_note)
    for line in report_render.headline(built):
        say(line)
    say("Written:")
    for path in written:
        say(f"  {path}")
    return 0

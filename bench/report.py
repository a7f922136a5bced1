"""How benchmark figures are shown: a terminal table (rich), JSON, and the README's Markdown.

Why this exists: one place decides the columns, so the printed table, latest.json and the
table pasted into the README always agree.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from figures import Figure, summary

BASELINES = ("canned server", "moto server", "python + imports")


def as_json(figure: Figure) -> dict:
    return {
        "name": figure.name,
        "unit": figure.unit,
        **summary(figure.samples),
        "baselines": {name: summary(samples) for name, samples in figure.baselines.items()},
    }


def _cell(stats: dict | None, unit: str) -> str:
    return "—" if stats is None else f"{stats['median']:,.1f} {unit}"


def _rows(figures: list[Figure]) -> list[list[str]]:
    rows = []
    for figure in figures:
        own = summary(figure.samples)
        row = [figure.name, _cell(own, figure.unit), f"{own['p95']:,.1f} {figure.unit}", str(own["runs"])]
        for name in BASELINES:
            row.append(_cell(summary(figure.baselines[name]), figure.unit) if name in figure.baselines else "")
        # a figure's own baseline (the same work without the feature it measures, say)
        row.append("; ".join(f"{name}: {_cell(summary(samples), figure.unit)}"
                             for name, samples in figure.baselines.items() if name not in BASELINES))
        rows.append(row)
    return rows


HEADER = ["figure", "median", "p95", "runs", *(f"{name} (median)" for name in BASELINES), "its own baseline (median)"]


def print_table(figures: list[Figure]) -> None:
    table = Table(*HEADER, title="EDA Lab engine (host mode) beside its baselines")
    for row in _rows(figures):
        table.add_row(*row)
    Console(width=170).print(table)


def markdown(figures: list[Figure], doc: dict) -> str:
    lines = [f"Measured {doc['measured_at']} on {doc['machine']['cpus']} CPUs, Python {doc['machine']['python']}.",
             "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(figures)]
    return "\n".join(lines)

"""Lab 08's report as files: Markdown, a self-contained HTML page, the chart's SVG, and JSON.

Why this exists: `make report LAB=08` writes `state_dir/lab08/report.{md,html,svg,json}` from one
computed `edalab.cost.report.Report`, and the console's Cost page shows the same HTML body (the
summary, the chart and the tables), so both read alike and nothing is computed twice. The JSON
holds the raw counts of every run and every cost line as quantity × unit price = usd, so any
number in the other files can be traced and recomputed. The cells of a run's row are built once
(`row_cells`) and written as Markdown or HTML.
"""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path

from edalab.cost import report_chart
from edalab.cost.report import Report, RunRow, report_folder, shown_path

SETTING_COLUMNS = {"batch_size": "batch size", "batching_window_s": "window (s)", "polling": "polling",
                   "memory_mb": "memory (MB)", "rate_per_s": "sent per s"}
SHARED_FORMAT = {"batch_size": "batch size {}", "batching_window_s": "window {} s", "polling": "{} polling",
                 "memory_mb": "{} MB", "rate_per_s": "sent at {}/s"}
MEASURE_COLUMNS = ("events", "processed", "p50 (ms)", "p95 (ms)", "events/s", "run cost", "per million events",
                   "target", "frontier", "notes")
FORMULAS = {"usd": "quantity × unit_price_usd", "unit_price_usd": "prices.yaml usd ÷ per",
            "total_usd": "Σ usd of the run's cost lines",
            "usd_per_million_events": "total_usd ÷ events × 1,000,000 (events = outcome.sent)",
            "meets_target": "latency_ms.p95 ≤ latency_target_ms",
            "on_frontier": "no other run is both as cheap and as fast and strictly better in one of the two"}
FILES = ("report.md", "report.html", "report.svg", "report.json")


def usd(value: float | None) -> str:
    """Dollars with the digits that matter: `$12.34`, `$0.0523`, `$0.000125`."""
    if value is None:
        return "—"
    if value == 0 or abs(value) >= 1:
        return f"${value:,.2f}"
    return f"${value:.3g}"


def _setting_keys(rows: list[RunRow]) -> list[str]:
    """The settings the rows record, known ones first in a fixed order (`events` is a measure column)."""
    present = {key for row in rows for key in row.settings if key != "events"}
    return [key for key in SETTING_COLUMNS if key in present] + sorted(present - set(SETTING_COLUMNS))


def exact(value: float) -> str:
    """A number written out in full, no exponent: 1.66667e-05 -> `0.0000166667` (for tracing by hand)."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    digits = max(0, 10 - int(math.floor(math.log10(abs(value)))))
    return f"{value:,.{digits}f}".rstrip("0").rstrip(".")


def setting_columns(rows: list[RunRow]) -> list[str]:
    """The settings that differ between the rows of a group: each gets a column."""
    return [key for key in _setting_keys(rows) if len({str(row.settings.get(key)) for row in rows}) > 1]


def shared_settings(rows: list[RunRow]) -> str:
    """The settings every row of a group has alike, as one line: `batch size 10 · polling long`."""
    varying = setting_columns(rows)
    return " · ".join(SHARED_FORMAT.get(key, key + " {}").format(rows[0].settings.get(key, "—"))
                      for key in _setting_keys(rows) if key not in varying)


def row_cells(row: RunRow, settings: list[str], report: Report, shown_name: str | None = None) -> list[str]:
    """A run's cells in the order: name (as the group shows it), settings…, then MEASURE_COLUMNS (plain text)."""
    processed, sent = row.outcome.get("processed"), row.events
    notes = []
    if row.modelled:
        notes.append(f"modelled: {row.modelled}")
    if isinstance(processed, int) and processed < sent:
        notes.append(f"only {processed:,} of {sent:,} processed")
    if row.outcome.get("failed"):
        notes.append(f"{row.outcome['failed']:,} failed")
    if row.name == report.choice:
        notes.append("your choice")
    return [shown_name or row.name, *(str(row.settings.get(key, "—")) for key in settings),
            f"{sent:,}", f"{processed:,}" if isinstance(processed, int) else "—",
            f"{row.p50:,.0f}", f"{row.p95:,.0f}", f"{row.throughput:,.1f}", usd(row.total_usd),
            usd(row.usd_per_million), "meets" if row.meets_target else "misses",
            "yes" if row.on_frontier else "", "; ".join(notes)]


def headline(report: Report) -> list[str]:
    """The sentences above the tables: the target, the cheapest run meeting it, the frontier, the choice."""
    cheapest, frontier = report.cheapest_meeting_target, report.frontier
    lines = [f"Latency target: p95 ≤ {report.target_ms:,.0f} ms from upload to processed."]
    if cheapest:
        lines.append(f"Cheapest run meeting the target: {cheapest.name}, {usd(cheapest.usd_per_million)} per "
                     f"million events at p95 {cheapest.p95:,.0f} ms.")
    elif report.rows:
        lines.append("No run meets the target yet: try a smaller batching window or a larger batch.")
    if frontier:
        lines.append("Pareto frontier (no other run is both cheaper and faster): "
                     + ", ".join(row.name for row in frontier) + ".")
    if report.choice:
        chosen = next((row for row in report.rows if row.name == report.choice), None)
        if chosen is None:
            lines.append(f"Your choice in choice.yaml, {report.choice}, has not been run: "
                         f"`make experiment LAB=08 NAME={report.choice}`.")
        else:
            verdict = "meets the target" if chosen.meets_target else "misses the target"
            cheaper = "" if chosen is cheapest or not cheapest or not chosen.meets_target else \
                f"; {cheapest.name} meets it for less"
            lines.append(f"Your choice in choice.yaml: {chosen.name}, {usd(chosen.usd_per_million)} per million "
                         f"events at p95 {chosen.p95:,.0f} ms, {verdict}{cheaper}.")
    return lines


# ------------------------------------------------------------------------------------ Markdown

def markdown(report: Report, chart_file: str = "report.svg") -> str:
    out = ["# Lab 08 · cost and performance", "",
           f"{len(report.rows)} run(s), repriced with {report.prices_shown}; free tier not applied. "
           f"Generated {report.generated}.", ""]
    out += [f"- {line}" for line in headline(report)] + [""]
    if report.shows_memory:
        out += [f"> {report.memory_note}", ""]
    out += [f"![Cost per million events against p95 latency]({chart_file})", "",
            f"Chart: [{chart_file}]({chart_file}). Every number below is traceable in report.json "
            "(each run's raw counts, and each cost line as quantity × unit price).", ""]
    for group in report.groups:
        rows = group.rows
        settings = setting_columns(rows)
        header = ["run", *(SETTING_COLUMNS.get(key, key) for key in settings), *MEASURE_COLUMNS]
        shared = shared_settings(rows)
        out += [f"## {group.title}", ""] + ([f"Every run here: {shared}.", ""] if shared else [])
        out += [_md_row(header), _md_row(["---"] * len(header))]
        out += [_md_row(row_cells(row, settings, report, group.name_of(row))) for row in rows] + [""]
    out += ["## Cost lines of each run", ""]
    for row in report.rows:
        out += [f"### {row.name}: {usd(row.total_usd)}", "",
                _md_row(["service", "item", "quantity", "unit", "unit price (USD)", "USD"]), _md_row(["---"] * 6)]
        out += [_md_row([line.service, line.item, exact(line.quantity), line.unit, exact(line.unit_price_usd),
                         exact(line.usd)]) for line in row.lines if line.quantity or line.usd]
        out += [_md_row(["total", "", "", "", "", exact(row.total_usd)]), ""]
    return "\n".join(out)


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


# ---------------------------------------------------------------------------------------- HTML

def html_body(report: Report, chart: str | None = None) -> str:
    """The report's body: summary, the chart (inline SVG), a table per experiment group, the cost lines.
    The console's Cost page shows exactly this inside its own layout."""
    parts = ['<section class="card cost-summary"><ul>']
    parts += [f"<li>{escape(line)}</li>" for line in headline(report)]
    parts.append(f'</ul><p class="muted">{len(report.rows)} run(s), repriced with {escape(report.prices_shown)}; '
                 "free tier not applied.</p></section>")
    if report.shows_memory:
        title, text = report.memory_note.split(": ", 1)
        parts.append(f'<p class="card cost-memory-note"><strong>{escape(title)}:</strong> {escape(text)}</p>')
    parts.append(f'<figure class="card cost-chart-card">{chart or report_chart.svg(report)}</figure>')
    for group in report.groups:
        rows = group.rows
        settings = setting_columns(rows)
        header = ["run", *(SETTING_COLUMNS.get(key, key) for key in settings), *MEASURE_COLUMNS]
        numeric = set(range(1 + len(settings), 1 + len(settings) + 7))
        shared = shared_settings(rows)
        parts.append(f'<section class="card" data-group="{escape(group.key)}"><h2>{escape(group.title)}</h2>'
                     + (f'<p class="muted">Every run here: {escape(shared)}.</p>' if shared else "")
                     + '<div class="cost-scroll"><table class="cost-table"><thead><tr>')
        parts += [f'<th{" class=num" if i in numeric else ""}>{escape(name)}</th>' for i, name in enumerate(header)]
        parts.append("</tr></thead><tbody>")
        for row in rows:
            parts.append(_html_row(row, row_cells(row, settings, report, group.name_of(row)), numeric, report))
        parts.append("</tbody></table></div></section>")
    parts.append('<section class="card"><h2>Cost lines of each run</h2>')
    for row in report.rows:
        parts.append(f'<details data-run="{escape(row.name)}"><summary>{escape(row.name)}: '
                     f"{escape(usd(row.total_usd))}</summary><table class=\"cost-lines\"><thead><tr><th>service</th>"
                     "<th>item</th><th class=num>quantity</th><th>unit</th><th class=num>unit price (USD)</th>"
                     "<th class=num>USD</th></tr></thead><tbody>")
        parts += [f"<tr><td>{escape(line.service)}</td><td>{escape(line.item)}</td><td class=num>{exact(line.quantity)}"
                  f"</td><td>{escape(line.unit)}</td><td class=num>{exact(line.unit_price_usd)}</td>"
                  f"<td class=num>{exact(line.usd)}</td></tr>" for line in row.lines if line.quantity or line.usd]
        parts.append(f'<tr class="total"><th colspan="5">total (Σ USD)</th><td class=num>{exact(row.total_usd)}</td>'
                     f'</tr></tbody></table><p class="muted">USD = quantity × unit price; per million events = total ÷ '
                     f'{row.events:,} events × 1,000,000 = {escape(usd(row.usd_per_million))}.</p></details>')
    parts.append("</section>")
    return "\n".join(parts)


def _html_row(row: RunRow, cells: list[str], numeric: set[int], report: Report) -> str:
    classes = [c for c, on in (("chosen", row.name == report.choice), ("frontier", row.on_frontier),
                               ("cheapest", row is report.cheapest_meeting_target)) if on]
    out = [f'<tr data-run="{escape(row.name)}" class="{" ".join(classes)}">']
    verdict = len(cells) - 3
    for i, cell in enumerate(cells):
        if i == verdict:
            cell_html = f'<span class="badge {"ok" if row.meets_target else "bad"}">{escape(cell)}</span>'
        elif i == 0 and row.name == report.choice:
            cell_html = f"<strong>{escape(cell)}</strong> ★"
        else:
            cell_html = escape(cell)
        out.append(f'<td{" class=num" if i in numeric else ""}>{cell_html}</td>')
    return "".join(out) + "</tr>"


STANDALONE_CSS = """
body { margin: 0 auto; max-width: 1280px; padding: 1.2rem; font: 14px/1.45 system-ui, -apple-system, "Segoe UI",
       sans-serif; color: #1d1d1f; background: #f7f7f5; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin: .2rem 0 .5rem; }
.card { background: #fff; border: 1px solid #e2e2e0; border-radius: 8px; padding: .9rem 1rem; margin: 0 0 1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .55rem; border-bottom: 1px solid #e2e2e0; vertical-align: top; }
th { font-weight: 600; color: #6b6b70; font-size: 12px; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #6b6b70; } .ok { color: #1a7f37; } .bad { color: #c62828; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: 12px; font-weight: 600;
         border: 1px solid currentColor; }
.cost-scroll { overflow-x: auto; }
table.cost-table td { white-space: nowrap; } table.cost-table td:last-child { white-space: normal; min-width: 11rem; }
tr.frontier td:first-child { border-left: 3px solid #1f5fbf; }
tr.chosen { background: #fff8c5; }
.cost-memory-note { border-color: #b26a00; background: #fff4e0; }
.cost-chart-card svg { max-width: 100%; height: auto; display: block; margin: 0 auto; }
details { margin: .3rem 0; } summary { cursor: pointer; }
"""


def html_document(report: Report, chart: str | None = None) -> str:
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Lab 08 · cost and performance</title><style>{STANDALONE_CSS}</style></head>\n<body>"
            f"<h1>Lab 08 · cost and performance</h1>\n<p class=\"muted\">Generated {escape(report.generated)}. "
            "The raw counts and each cost line are in report.json beside this file.</p>\n"
            f"{html_body(report, chart)}\n</body></html>\n")


# ---------------------------------------------------------------------------------------- JSON

def json_document(report: Report) -> dict:
    """Everything needed to recompute the report: each run's record (raw counts) and cost lines."""
    prices = report.prices
    cheapest = report.cheapest_meeting_target
    return {
        "generated": report.generated,
        "latency_target_ms": report.target_ms,
        "formulas": FORMULAS,
        "prices": {"file": shown_path(prices.path), "region": prices.region, "taken": prices.taken.isoformat(),
                   "currency": prices.currency, "free_tier_applied": False,
                   "lines": [{"service": p.service, "item": p.item, "usd": p.usd, "per": p.per, "unit": p.unit,
                              "unit_price_usd": p.unit_price_usd, "source": p.source} for p in prices.lines]},
        "runs": [{**row.record, "file": str(row.file), "group": row.group, "events": row.events,
                  "modelled": row.modelled,
                  "cost_lines": [{"service": line.service, "item": line.item, "quantity": line.quantity,
                                  "unit": line.unit, "unit_price_usd": line.unit_price_usd, "usd": line.usd}
                                 for line in row.lines],
                  "total_usd": row.total_usd, "usd_per_million_events": row.usd_per_million,
                  "meets_target": row.meets_target, "on_frontier": row.on_frontier} for row in report.rows],
        "frontier": [row.name for row in report.frontier],
        "cheapest_meeting_target": cheapest.name if cheapest else None,
        "choice": report.choice,
    }


def write_all(report: Report, folder: Path | None = None) -> list[Path]:
    """Writes report.md, report.html, report.svg and report.json; returns their paths."""
    folder = folder or report_folder()
    folder.mkdir(parents=True, exist_ok=True)
    chart = report_chart.svg(report)
    texts = {"report.md": markdown(report), "report.html": html_document(report, chart), "report.svg": chart + "\n",
             "report.json": json.dumps(json_document(report), indent=2, default=str) + "\n"}
    written = []
    for name in FILES:
        path = folder / name
        path.write_text(texts[name])
        written.append(path)
    return written

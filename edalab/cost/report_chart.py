"""Lab 08's chart as SVG text: cost per million events against p95 latency, one point per run.

Why this exists: the report (Markdown links it, HTML inlines it) and the console's Cost page show
the same chart, drawn on the server so it needs no script and no network: each run a labelled
point (green when its p95 meets the target), the Pareto frontier as a line through the runs no
other run beats on both axes, the latency target as a dashed line, the learner's choice ringed.
Cost spans orders of magnitude between configurations, so the cost axis turns logarithmic when
the dearest run costs more than LOG_SCALE_FROM times the cheapest.
"""

from __future__ import annotations

import math
from html import escape

WIDTH, HEIGHT = 760, 440
LEFT, RIGHT, TOP, BOTTOM = 78, 24, 28, 58
LOG_SCALE_FROM = 20.0
MEETS, MISSES, FRONTIER, TARGET, INK, GRID = "#1a7f37", "#b42318", "#1f5fbf", "#9a6700", "#24292f", "#d0d7de"
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\""


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """0 and round steps (1, 2 or 5 × 10^k) up to at least `high`."""
    if high <= 0:
        return [0.0, 1.0]
    raw = high / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [step * i for i in range(int(math.ceil(high / step - 1e-9)) + 1)]


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten (with 2 and 5 between them when the span is short) covering [low, high]."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    steps = (1, 2, 5) if last - first <= 3 else (1,)
    return [m * 10 ** k for k in range(first, last + 1) for m in steps if low / 1.0001 <= m * 10 ** k <= high * 1.0001]


def money(value: float) -> str:
    if value == 0:
        return "$0"
    return f"${value:,.2f}" if value >= 10 else f"${value:.3g}"


def latency(value: float) -> str:
    return f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms"


class Axes:
    """Maps (cost per million, p95 ms) to pixels."""

    def __init__(self, costs: list[float], p95s: list[float], target_ms: float):
        positive = [cost for cost in costs if cost > 0]
        self.log = bool(positive) and len(positive) == len(costs) and max(positive) / min(positive) > LOG_SCALE_FROM
        if self.log:
            low, high = 10 ** math.floor(math.log10(min(positive))), 10 ** math.ceil(math.log10(max(positive)))
            self.x_ticks, self.x_low, self.x_high = log_ticks(low, high), low, high
        else:
            self.x_ticks = nice_ticks(max(costs, default=0) * 1.08)
            self.x_low, self.x_high = 0.0, self.x_ticks[-1]
        self.y_ticks = nice_ticks(max(p95s + [target_ms]) * 1.1)
        self.y_high = self.y_ticks[-1]

    def x(self, cost: float) -> float:
        share = ((math.log10(cost) - math.log10(self.x_low)) / (math.log10(self.x_high) - math.log10(self.x_low))
                 if self.log else (cost - self.x_low) / ((self.x_high - self.x_low) or 1))
        return LEFT + share * (WIDTH - LEFT - RIGHT)

    def y(self, p95: float) -> float:
        return HEIGHT - BOTTOM - p95 / (self.y_high or 1) * (HEIGHT - TOP - BOTTOM)


def svg(report, chosen: str | None = None) -> str:
    """The chart of `report` (an edalab.cost.report.Report) as a standalone SVG document."""
    drawn = [row for row in report.rows if row.usd_per_million is not None]
    chosen = chosen if chosen is not None else report.choice
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
             f'height="{HEIGHT}" role="img" class="cost-chart" {FONT} font-size="12">',
             "<title>Cost per million events against p95 latency, one point per experiment run</title>",
             f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>']
    if not drawn:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="{INK}">'
                     "No experiment run yet: run `make experiment LAB=08 NAME=…`</text></svg>")
        return "\n".join(parts)
    axes = Axes([row.usd_per_million for row in drawn], [row.p95 for row in drawn], report.target_ms)
    parts += _grid(axes)
    target_y = axes.y(report.target_ms)
    parts.append(f'<line class="target" x1="{LEFT}" y1="{target_y:.1f}" x2="{WIDTH - RIGHT}" y2="{target_y:.1f}" '
                 f'stroke="{TARGET}" stroke-width="1.5" stroke-dasharray="6 4"/>')
    parts.append(f'<text x="{WIDTH - RIGHT - 4}" y="{target_y - 6:.1f}" text-anchor="end" fill="{TARGET}">'
                 f"target: p95 ≤ {escape(latency(report.target_ms))}</text>")
    frontier = [(axes.x(row.usd_per_million), axes.y(row.p95)) for row in report.frontier]
    if len(frontier) > 1:
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in frontier)
        parts.append(f'<polyline class="frontier" points="{points}" fill="none" stroke="{FRONTIER}" '
                     'stroke-width="2" stroke-linejoin="round"/>')
    parts += _points(drawn, axes, chosen)
    parts += _legend()
    parts.append("</svg>")
    return "\n".join(parts)


def _grid(axes: Axes) -> list[str]:
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    parts = []
    for tick in axes.y_ticks:
        y = axes.y(tick)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">{escape(latency(tick))}</text>')
    for tick in axes.x_ticks:
        x = axes.x(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{bottom}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{x:.1f}" y="{bottom + 18}" text-anchor="middle" fill="{INK}">{escape(money(tick))}</text>')
    parts.append(f'<line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{INK}"/>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="{INK}"/>')
    scale = " (log scale)" if axes.log else ""
    parts.append(f'<text x="{(LEFT + right) / 2}" y="{HEIGHT - 14}" text-anchor="middle" fill="{INK}" '
                 f'font-weight="600">cost per million events (USD){scale}</text>')
    middle = (TOP + bottom) / 2
    parts.append(f'<text x="16" y="{middle}" text-anchor="middle" fill="{INK}" font-weight="600" '
                 f'transform="rotate(-90 16 {middle})">p95 latency, upload to processed</text>')
    return parts


def _points(rows, axes: Axes, chosen: str | None) -> list[str]:
    parts, taken = [], []
    for row in sorted(rows, key=lambda row: (row.usd_per_million, row.p95)):
        x, y = axes.x(row.usd_per_million), axes.y(row.p95)
        colour = MEETS if row.meets_target else MISSES
        tip = (f"{row.name}: {money(row.usd_per_million)} per million events, p95 {row.p95:,.0f} ms"
               + (", on the frontier" if row.on_frontier else "") + (" (memory modelled)" if row.modelled else ""))
        parts.append(f'<g class="run" data-run="{escape(row.name)}"><title>{escape(tip)}</title>')
        if row.name == chosen:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="10" fill="none" stroke="{INK}" stroke-width="2"/>')
        fill = colour if row.on_frontier else "#ffffff"
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5.5" fill="{fill}" stroke="{colour}" stroke-width="2"/>')
        label_y = _free_label_y(x, y - 9, taken)
        anchor, label_x = ("end", x - 8) if x > WIDTH - RIGHT - 90 else ("start", x + 8)
        label = row.name + (" ★ your choice" if row.name == chosen else "")
        parts.append(f'<text x="{label_x:.1f}" y="{label_y:.1f}" text-anchor="{anchor}" fill="{INK}">'
                     f"{escape(label)}</text></g>")
    return parts


def _free_label_y(x: float, y: float, taken: list[tuple[float, float]]) -> float:
    """A label position that does not overlap an earlier label near the same x (moves it down)."""
    while any(abs(x - other_x) < 110 and abs(y - other_y) < 13 for other_x, other_y in taken):
        y += 13
    taken.append((x, y))
    return y


def _legend() -> list[str]:
    x, y = LEFT + 10, TOP + 4
    entries = [f'<circle cx="{x}" cy="{y}" r="5" fill="{MEETS}"/>',
               f'<text x="{x + 10}" y="{y + 4}" fill="{INK}">meets the target</text>',
               f'<circle cx="{x + 128}" cy="{y}" r="5" fill="{MISSES}"/>',
               f'<text x="{x + 138}" y="{y + 4}" fill="{INK}">misses it</text>',
               f'<line x1="{x + 210}" y1="{y}" x2="{x + 236}" y2="{y}" stroke="{FRONTIER}" stroke-width="2"/>',
               f'<text x="{x + 242}" y="{y + 4}" fill="{INK}">Pareto frontier (filled points)</text>']
    return [f'<rect x="{x - 10}" y="{y - 12}" width="440" height="24" fill="#ffffff" fill-opacity="0.85"/>', *entries]

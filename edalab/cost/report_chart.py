"""Lab 08's chart as SVG text: cost per million events against p95 latency, one point per run.

Why this exists: the report (Markdown links it, HTML inlines it) and the console's Cost page show
the same chart, drawn on the server so it needs no script and no network: each run a labelled
point (green when its p95 meets the target), the Pareto frontier as a line through the runs no
other run beats on both axes, the latency target as a dashed line, the learner's choice ringed.
Cost spans orders of magnitude between configurations, so the cost axis turns logarithmic when
the dearest run costs more than LOG_SCALE_FROM times the cheapest, and starts near the cheapest
run (not at $0) when the dearest costs less than twice as much, so close costs stay apart.
"""

from __future__ import annotations

import math
from html import escape

WIDTH, HEIGHT = 900, 460
LEFT, RIGHT, TOP, BOTTOM = 78, 24, 44, 58
LOG_SCALE_FROM = 8.0
MEETS, MISSES, FRONTIER, TARGET, INK, GRID = "#1a7f37", "#b42318", "#1f5fbf", "#9a6700", "#24292f", "#d0d7de"
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\""


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round steps (1, 2 or 5 × 10^k) from at most `low` to at least `high`."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(step * i, 12) for i in range(first, last + 1)]


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten (with 2 and 5 between them when the span is short) covering [low, high]."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    steps = (1, 2, 5) if last - first <= 3 else (1,)
    return [m * 10 ** k for k in range(first, last + 1) for m in steps if low / 1.0001 <= m * 10 ** k <= high * 1.0001]


def _steps(value: float) -> list[float]:
    """1, 2 and 5 times the powers of ten around `value`."""
    power = math.floor(math.log10(value))
    return [m * 10 ** k for k in (power - 1, power, power + 1) for m in (1, 2, 5)]


def _round_down(value: float) -> float:
    return max(step for step in _steps(value) if step <= value * 1.0001)


def _round_up(value: float) -> float:
    return min(step for step in _steps(value) if step >= value / 1.0001)


def tick_money(value: float) -> str:
    return f"${value:,.0f}" if value >= 1 and value == int(value) else f"${value:g}"


def money(value: float) -> str:
    if value == 0:
        return "$0"
    return f"${value:,.2f}" if value >= 10 else f"${value:.3g}"


def latency(value: float) -> str:
    if value == 0:
        return "0"
    return f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms"


class Axes:
    """Maps (cost per million, p95 ms) to pixels."""

    def __init__(self, costs: list[float], p95s: list[float], target_ms: float):
        positive = [cost for cost in costs if cost > 0]
        self.log = bool(positive) and len(positive) == len(costs) and max(positive) / min(positive) > LOG_SCALE_FROM
        if self.log:
            low, high = _round_down(min(positive)), _round_up(max(positive))
            self.x_ticks, self.x_low, self.x_high = log_ticks(low, high), low, high
        else:
            low, high = min(costs), max(costs)
            # costs close together (the dearest under twice the cheapest): the axis starts near them, not at $0
            start = 0.0 if low < high / 2 or high == 0 else low - (high - low) * 0.15 - high * 0.01
            self.x_ticks = nice_ticks(start, high + (high - start) * 0.08)
            self.x_low, self.x_high = self.x_ticks[0], self.x_ticks[-1]
        self.y_ticks = nice_ticks(0.0, max(p95s + [target_ms]) * 1.1)
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
        parts.append(f'<text x="{x:.1f}" y="{bottom + 18}" text-anchor="middle" fill="{INK}">{escape(tick_money(tick))}</text>')
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
    """A circle per run; runs drawn on (nearly) the same spot share one label ("batch-10, polling-long")."""
    parts, clusters = [], []
    for row in sorted(rows, key=lambda row: (row.usd_per_million, row.p95, row.name)):
        x, y = axes.x(row.usd_per_million), axes.y(row.p95)
        cluster = next((c for c in clusters if math.hypot(c["x"] - x, c["y"] - y) < SAME_SPOT), None)
        if cluster is None:
            clusters.append({"x": x, "y": y, "names": [row.name]})
        else:
            cluster["names"].append(row.name)
        colour = MEETS if row.meets_target else MISSES
        tip = (f"{row.name}: {money(row.usd_per_million)} per million events, p95 {row.p95:,.0f} ms"
               + (", on the frontier" if row.on_frontier else "") + (" (memory modelled)" if row.modelled else ""))
        parts.append(f'<g class="run" data-run="{escape(row.name)}"><title>{escape(tip)}</title>')
        if row.name == chosen:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="10" fill="none" stroke="{INK}" stroke-width="2"/>')
        fill = colour if row.on_frontier else "#ffffff"
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5.5" fill="{fill}" stroke="{colour}" stroke-width="2"/></g>')
    placed: list[tuple[float, float, float, float]] = []
    dots = [(c["x"], c["y"]) for c in clusters]
    for cluster in clusters:
        label = ", ".join(name + (" ★ your choice" if name == chosen else "") for name in cluster["names"])
        width = len(label) * CHAR_WIDTH
        left, baseline = _label_spot(cluster["x"], cluster["y"], width, placed, dots)
        leader = _leader(cluster["x"], cluster["y"], (left - 2, baseline - 11, left + width + 2, baseline + 3))
        if leader:
            parts.append(leader)
        parts.append(f'<text class="label" x="{left:.1f}" y="{baseline:.1f}" fill="{INK}">{escape(label)}</text>')
    return parts


def _leader(x: float, y: float, box: tuple) -> str | None:
    """A thin line from a point to its label when the label had to move away from it (another
    label or point was in the way), so the label is not read as its neighbour's."""
    nearest_x, nearest_y = min(max(x, box[0]), box[2]), min(max(y, box[1]), box[3])
    distance = math.hypot(nearest_x - x, nearest_y - y)
    if distance < 14:
        return None
    start = 7 / distance  # from the circle's edge
    return (f'<line class="leader" x1="{x + (nearest_x - x) * start:.1f}" y1="{y + (nearest_y - y) * start:.1f}" '
            f'x2="{nearest_x:.1f}" y2="{nearest_y:.1f}" stroke="{INK}" stroke-width="0.75" opacity="0.6"/>')


SAME_SPOT = 9.0  # px: points closer than this share one label
CHAR_WIDTH = 7.6  # px per character at 12 px, near enough to keep labels apart


def _label_spot(x: float, y: float, width: float, placed: list, dots: list) -> tuple[float, float]:
    """Where a label's text starts (left, baseline): beside its point, else above or below it, else further
    down or up, the first spot inside the plot that overlaps no earlier label and no other point."""
    spots = [(x + 9, y + 4), (x - 11 - width, y + 4), (x - width / 2, y - 10), (x - width / 2, y + 19)]
    spots += [(x + 9, y + 4 + step * sign) for step in range(14, 50, 14) for sign in (-1, 1)]
    for left, baseline in spots:
        box = (left - 2, baseline - 11, left + width + 2, baseline + 3)
        inside = LEFT < box[0] and box[2] < WIDTH - RIGHT and TOP < box[1] and box[3] < HEIGHT - BOTTOM
        clear = not any(_overlap(box, other) for other in placed) and not any(
            box[0] - 9 < dx < box[2] + 9 and box[1] - 9 < dy < box[3] + 9 for dx, dy in dots if (dx, dy) != (x, y))
        if inside and clear:
            placed.append(box)
            return left, baseline
    placed.append((x + 7, y - 7, x + 9 + width, y + 7))
    return x + 9, y + 4


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _legend() -> list[str]:
    x, y = LEFT + 10, TOP - 22
    entries = [f'<circle cx="{x}" cy="{y}" r="5" fill="{MEETS}"/>',
               f'<text x="{x + 10}" y="{y + 4}" fill="{INK}">meets the target</text>',
               f'<circle cx="{x + 128}" cy="{y}" r="5" fill="{MISSES}"/>',
               f'<text x="{x + 138}" y="{y + 4}" fill="{INK}">misses it</text>',
               f'<line x1="{x + 210}" y1="{y}" x2="{x + 236}" y2="{y}" stroke="{FRONTIER}" stroke-width="2"/>',
               f'<text x="{x + 242}" y="{y + 4}" fill="{INK}">Pareto frontier (filled points)</text>']
    return entries

"""The waterfall as an SVG drawn on the server, for the console's trace page.

Why this exists: the console shows a trace as a picture a learner can read at a glance, with no
JavaScript chart library: one row per hop (its label and where it ran on the left, its bar on a
shared time axis, its duration and outcome on the right). Colours: green went well, red failed, grey
waited; a DLQ ending is a red diamond and a red row. Every row carries `data-kind`, `data-outcome`
and `data-attempt`, so the browser tests can read the picture as well as look at it.
"""

from __future__ import annotations

from html import escape

from edalab.tracing.model import Trace
from edalab.tracing.waterfall import describe, layout, milliseconds

WIDTH, ROW_HEIGHT, TOP, BOTTOM = 1100, 30, 34, 16
LABEL_WIDTH, TEXT_WIDTH = 230, 330
PLOT_LEFT = LABEL_WIDTH
PLOT_WIDTH = WIDTH - LABEL_WIDTH - TEXT_WIDTH
COLOURS = {"good": "#2e7d32", "bad": "#c62828", "wait": "#9e9e9e", "dlq": "#c62828"}


def render(trace: Trace) -> str:
    waterfall = layout(trace)
    height = TOP + ROW_HEIGHT * max(1, len(waterfall.rows)) + BOTTOM
    scale = PLOT_WIDTH / waterfall.span_ms
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="waterfall" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" role="img" '
             f'aria-label="trace {escape(trace.correlation_id)}: {escape(trace.outcome)}" '
             f'data-outcome="{escape(trace.outcome)}" data-hops="{len(waterfall.rows)}">']
    for tick in waterfall.ticks_ms:
        x = PLOT_LEFT + tick * scale
        parts.append(f'<line class="tick" x1="{x:.1f}" y1="{TOP - 8}" x2="{x:.1f}" y2="{height - BOTTOM}" />')
        parts.append(f'<text class="tick-label" x="{x:.1f}" y="{TOP - 14}" text-anchor="middle">'
                     f'{escape(milliseconds(tick))}</text>')
    for index, row in enumerate(waterfall.rows):
        y = TOP + index * ROW_HEIGHT
        middle = y + ROW_HEIGHT / 2
        hop = row.hop
        attempt = "" if hop.attempt is None else str(hop.attempt)
        parts.append(f'<g class="hop {row.tone}" data-kind="{hop.kind}" data-outcome="{escape(hop.outcome)}" '
                     f'data-attempt="{attempt}" data-correlation-id="{escape(hop.correlation_id)}">')
        if row.tone in ("bad", "dlq"):
            parts.append(f'<rect class="row-alert" x="0" y="{y + 1}" width="{WIDTH}" height="{ROW_HEIGHT - 2}" />')
        parts.append(f'<text class="hop-label" x="6" y="{middle + 4:.1f}">{escape(row.label)}'
                     f'<tspan class="hop-where" dx="8">{escape(hop.name)}</tspan></text>')
        x = PLOT_LEFT + row.offset_ms * scale
        colour = COLOURS[row.tone]
        if row.tone == "dlq":
            size = 9
            parts.append(f'<polygon class="dlq-marker" fill="{colour}" points="{x:.1f},{middle - size:.1f} '
                         f'{x + size:.1f},{middle:.1f} {x:.1f},{middle + size:.1f} {x - size:.1f},{middle:.1f}" />')
        elif row.duration_ms is None:
            parts.append(f'<line class="open-bar" x1="{x:.1f}" y1="{middle:.1f}" x2="{PLOT_LEFT + PLOT_WIDTH}" '
                         f'y2="{middle:.1f}" stroke="{colour}" stroke-width="6" stroke-dasharray="6 4" />')
        else:
            width = max(2.0, row.duration_ms * scale)
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y + 7}" width="{width:.1f}" height="{ROW_HEIGHT - 14}" '
                         f'rx="2" fill="{colour}"><title>{escape(row.label)}: {escape(milliseconds(row.duration_ms))}'
                         f' from +{escape(milliseconds(row.offset_ms))}</title></rect>')
        words = f"{milliseconds(row.duration_ms)} · {describe(hop, 44, brief=True)}"
        parts.append(f'<text class="hop-outcome" x="{PLOT_LEFT + PLOT_WIDTH + 12}" y="{middle + 4:.1f}">'
                     f'<title>{escape(describe(hop))}</title>{escape(words)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)

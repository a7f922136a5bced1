"""Metric data for a chart: GetMetricData answers shaped as the data `static/charts.js` draws.

Why this exists: the alarm page draws an alarm's metric and the dashboard page draws metric
widgets; both ask `GetMetricData` and hand the browser the same JSON document, embedded in the
page (`<script type="application/json" class="chart-data">`), so a polled fragment carries
its chart's new data with it. One shape for both:

    {"x": [epoch seconds, ...],                     the union of every series' timestamps
     "series": [{"label", "color", "axis", "values": [number or null per x], "points"}],
     "lines": [{"value", "label", "color", "axis"}],   horizontal lines (thresholds, annotations)
     "start": s, "end": s, "points": n,              n = data points GetMetricData returned
     "stacked": bool, "axes": {...}, "messages": [...]}
"""

from __future__ import annotations

import math
from datetime import datetime

from botocore.exceptions import ClientError, ParamValidationError

MAX_QUERIES = 500  # GetMetricData takes at most 500 queries per call


class MetricQueryError(ValueError):
    """GetMetricData refused the queries; the message is the engine's."""


def metric_data(cloudwatch, queries: list[dict], start: datetime, end: datetime) -> dict[str, dict]:
    """GetMetricData over [start, end), oldest first, every page: {query id: result}."""
    if len(queries) > MAX_QUERIES:
        raise MetricQueryError(f"{len(queries)} queries; GetMetricData takes at most {MAX_QUERIES}")
    results: dict[str, dict] = {}
    arguments = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending"}
    try:
        while True:
            answer = cloudwatch.get_metric_data(**arguments)
            for result in answer.get("MetricDataResults", []):
                merged = results.setdefault(result["Id"], {"label": result.get("Label") or result["Id"],
                                                           "timestamps": [], "values": [], "messages": []})
                merged["timestamps"] += result.get("Timestamps", [])
                merged["values"] += result.get("Values", [])
                merged["messages"] += [m.get("Value", "") for m in result.get("Messages", [])]
            if not answer.get("NextToken"):
                return results
            arguments["NextToken"] = answer["NextToken"]
    except ClientError as error:
        raise MetricQueryError(error.response.get("Error", {}).get("Message") or str(error)) from None
    except ParamValidationError as error:
        raise MetricQueryError(str(error)) from None


def chart(results: dict[str, dict], series: list[dict], start: datetime, end: datetime, **extra) -> dict:
    """The chart document for `series` ({id, label, color, axis}, drawn in that order)."""
    drawn = [s for s in series if s["id"] in results]
    moments = sorted({_epoch(t) for s in drawn for t in results[s["id"]]["timestamps"]})
    column = {moment: index for index, moment in enumerate(moments)}
    document_series, points = [], 0
    for s in drawn:
        result = results[s["id"]]
        values: list[float | None] = [None] * len(moments)
        for moment, value in zip(result["timestamps"], result["values"]):
            values[column[_epoch(moment)]] = value if math.isfinite(value) else None
        points += len(result["values"])
        document_series.append({"label": s.get("label") or result["label"], "color": s.get("color"),
                                "axis": s.get("axis", "left"), "values": values, "points": len(result["values"]),
                                "last": _last(result)})
    messages = [m for s in drawn for m in results[s["id"]]["messages"] if m]
    return {"x": moments, "series": document_series, "lines": [], "start": _epoch(start), "end": _epoch(end),
            "points": points, "stacked": False, "axes": {}, "messages": messages, **extra}


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _last(result: dict) -> float | None:
    """The newest finite value of a result (what a single-value widget shows)."""
    newest = None
    for moment, value in zip(result["timestamps"], result["values"]):
        if math.isfinite(value) and (newest is None or moment >= newest[0]):
            newest = (moment, value)
    return newest[1] if newest else None


def number(value: float | None) -> str:
    """A value as a learner reads it: `3`, `0.25`, `1,234.5`, `—` for none."""
    if value is None:
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.1f}"

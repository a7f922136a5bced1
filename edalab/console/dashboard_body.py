"""A CloudWatch dashboard body, translated into what the console draws and the queries it asks.

Why this exists: `PutDashboard` stores a JSON body in CloudWatch's own syntax ("Dashboard body
structure and syntax" in the CloudWatch API reference). To draw it, the console must turn each
metric widget's `metrics` array into `GetMetricData` queries, and each widget's place on the
24-column grid into CSS. That translation has rules of its own, kept here, pure (no engine),
so unit tests can pin each one:

- a metric row is `[namespace, metricName, dimName, dimValue, ..., {options}]`; the options
  (`label`, `id`, `stat`, `period`, `visible`, `color`, `yAxis`, `region`) are optional;
- `"."` stands for the value at the same position in the previous metric row;
- `"..."` stands for as many of the previous metric row's values as the row is short of: the
  values before it are the row's start, those after it its end (`["...", "i-2"]` repeats the
  namespace, name and dimension names of the row above with a new last value);
- an expression row is `[{"expression": "m1 + m2", "label": ..., "id": ...}]`;
- without an `id`, a row is `m<position>` (`e<position>` for an expression), positions from 1,
  so expressions can name rows the way the CloudWatch console numbers them;
- `stat` and `period` come from the row's options, else the widget's, else `Average` and 300 s;
  `visible: false` computes a row (for expressions) without drawing it;
- x, y, width and height place a widget on a grid 24 columns wide (width 6 and height 6 when
  absent; a widget without x or y goes where the grid has room, as CloudWatch places it);
- the time range is the widget's `start`/`end`, else the dashboard's, else the last 3 hours:
  relative ISO 8601 durations such as `-PT3H` or `-P1D`, or absolute ISO timestamps.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

GRID_COLUMNS = 24
DEFAULT_SIZE = 6
DEFAULT_STAT = "Average"
DEFAULT_PERIOD = 300
DEFAULT_RANGE = timedelta(hours=3)
MAX_POINTS = 100_800  # GetMetricData's limit per call
DRAWN_TYPES = ("metric", "text")
VIEWS = ("timeSeries", "singleValue", "bar", "pie", "gauge", "table")
_ID = re.compile(r"^[a-z][A-Za-z0-9_]*$")
_DURATION = re.compile(r"^-P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


class BodyError(ValueError):
    """Something in a dashboard body the console cannot draw; the message says where."""


@dataclass
class Series:
    """One row of a metric widget: the query to ask and how to draw its answer."""
    id: str
    query: dict  # a GetMetricData MetricDataQuery
    label: str
    visible: bool = True
    color: str | None = None
    axis: str = "left"


@dataclass
class Widget:
    index: int
    type: str
    properties: dict
    x: int | None = None
    y: int | None = None
    width: int = DEFAULT_SIZE
    height: int = DEFAULT_SIZE

    @property
    def grid_style(self) -> str:
        """The CSS that puts this widget on the dashboard's 24-column grid."""
        column = f"{self.x + 1} / span {self.width}" if self.x is not None else f"auto / span {self.width}"
        row = f"{self.y + 1} / span {self.height}" if self.y is not None else f"auto / span {self.height}"
        return f"grid-column: {column}; grid-row: {row};"

    @property
    def title(self) -> str:
        return str(self.properties.get("title") or "")

    @property
    def view(self) -> str:
        return str(self.properties.get("view") or "timeSeries")


@dataclass
class Dashboard:
    widgets: list[Widget] = field(default_factory=list)
    start: str | None = None
    end: str | None = None


def parse_dashboard(body: str) -> Dashboard:
    """The dashboard's widgets in the order of the body; BodyError when it is not a body."""
    try:
        document = json.loads(body)
    except (TypeError, ValueError) as error:
        raise BodyError(f"the dashboard body is not JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("widgets"), list):
        raise BodyError("the dashboard body must be a JSON object with a `widgets` array")
    dashboard = Dashboard(start=_text(document.get("start")), end=_text(document.get("end")))
    for index, raw in enumerate(document["widgets"]):
        if not isinstance(raw, dict):
            raise BodyError(f"widget {index + 1} is not a JSON object")
        properties = raw.get("properties") if isinstance(raw.get("properties"), dict) else {}
        widget = Widget(index=index, type=str(raw.get("type", "")), properties=properties,
                        x=_grid_number(raw, "x", 0, GRID_COLUMNS - 1),
                        y=_grid_number(raw, "y", 0, None),
                        width=_grid_number(raw, "width", 1, GRID_COLUMNS) or DEFAULT_SIZE,
                        height=_grid_number(raw, "height", 1, 1000) or DEFAULT_SIZE)
        if widget.x is not None and widget.x + widget.width > GRID_COLUMNS:
            widget.width = GRID_COLUMNS - widget.x  # CloudWatch keeps a widget inside the grid
        dashboard.widgets.append(widget)
    return dashboard


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _grid_number(raw: dict, key: str, low: int, high: int | None) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        raise BodyError(f"widget {key} must be a whole number from {low}{f' to {high}' if high is not None else ''}, "
                        f"not {value!r}")
    return value


def metric_series(properties: dict) -> list[Series]:
    """A metric widget's `metrics` array as GetMetricData queries, in the order of the array."""
    rows = properties.get("metrics")
    if not isinstance(rows, list) or not rows:
        raise BodyError("a metric widget needs a non-empty `metrics` array")
    widget_stat = properties.get("stat") or DEFAULT_STAT
    widget_period = properties.get("period") or DEFAULT_PERIOD
    series: list[Series] = []
    previous: list[str] | None = None
    taken = {row[-1]["id"] for row in rows
             if isinstance(row, list) and row and isinstance(row[-1], dict) and isinstance(row[-1].get("id"), str)}
    for position, row in enumerate(rows, start=1):
        where = f"metrics row {position}"
        if not isinstance(row, list) or not row:
            raise BodyError(f"{where} must be a non-empty array")
        options = row[-1] if isinstance(row[-1], dict) else {}
        values = row[:-1] if options else row
        if not values and "expression" in options:
            series.append(_expression(options, _row_id(options, "e", position, taken, where), where))
            continue
        values = expand_row(values, previous, where)
        previous = values
        series.append(_metric(values, options, _row_id(options, "m", position, taken, where),
                              widget_stat, widget_period, where))
    return series


def expand_row(values: list, previous: list[str] | None, where: str = "a metrics row") -> list[str]:
    """The row with `"..."` and `"."` replaced by the previous metric row's values."""
    if any(not isinstance(value, str) for value in values):
        raise BodyError(f"{where}: namespace, metric name and dimensions must be strings "
                        "(options go in one object at the end of the row)")
    if "..." in values:
        if values.count("...") > 1:
            raise BodyError(f'{where}: "..." may appear once in a row')
        if previous is None:
            raise BodyError(f'{where}: "..." repeats the metric row above, and there is none')
        cut = values.index("...")
        head, tail = values[:cut], values[cut + 1:]
        if len(head) + len(tail) > len(previous):
            raise BodyError(f'{where}: "..." stands for values of the row above, which has only {len(previous)}')
        values = head + previous[len(head):len(previous) - len(tail)] + tail
    expanded = []
    for index, value in enumerate(values):
        if value == ".":
            if previous is None or index >= len(previous):
                raise BodyError(f'{where}: "." at position {index + 1} repeats the row above, which has no value there')
            value = previous[index]
        expanded.append(value)
    return expanded


def _row_id(options: dict, prefix: str, position: int, taken: set[str], where: str) -> str:
    given = options.get("id")
    if given is not None:
        if not isinstance(given, str) or not _ID.match(given):
            raise BodyError(f"{where}: id {given!r} must start with a lowercase letter and hold only letters, "
                            "digits and underscores")
        return given
    candidate, suffix = f"{prefix}{position}", 0
    while candidate in taken:  # a row that names itself m2 keeps it; the second row takes m2_1
        suffix += 1
        candidate = f"{prefix}{position}_{suffix}"
    taken.add(candidate)
    return candidate


def _expression(options: dict, row_id: str, where: str) -> Series:
    expression = options.get("expression")
    if not isinstance(expression, str) or not expression.strip():
        raise BodyError(f"{where}: `expression` must be a non-empty string")
    label = options.get("label") or expression
    query = {"Id": row_id, "Expression": expression, "Label": label, "ReturnData": True}
    if isinstance(options.get("period"), int):
        query["Period"] = options["period"]
    return Series(id=row_id, query=query, label=label, visible=options.get("visible", True) is not False,
                  color=options.get("color"), axis="right" if options.get("yAxis") == "right" else "left")


def _metric(values: list[str], options: dict, row_id: str, stat, period, where: str) -> Series:
    if len(values) < 2:
        raise BodyError(f"{where}: a metric row starts with a namespace and a metric name")
    namespace, name, pairs = values[0], values[1], values[2:]
    if len(pairs) % 2:
        raise BodyError(f"{where}: dimension {pairs[-1]!r} has no value (dimensions come in name, value pairs)")
    dimensions = [{"Name": pairs[i], "Value": pairs[i + 1]} for i in range(0, len(pairs), 2)]
    period = options.get("period") or period
    if not isinstance(period, int) or isinstance(period, bool) or period < 1:
        raise BodyError(f"{where}: period must be a whole number of seconds, not {period!r}")
    stat = options.get("stat") or stat
    label = options.get("label") or default_label(name, dimensions)
    query = {"Id": row_id, "Label": label, "ReturnData": True,
             "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions},
                            "Period": period, "Stat": str(stat)}}
    return Series(id=row_id, query=query, label=label, visible=options.get("visible", True) is not False,
                  color=options.get("color"), axis="right" if options.get("yAxis") == "right" else "left")


def check_points(series: list[Series], start: datetime, end: datetime) -> None:
    """BodyError when the widget would ask for more points than one GetMetricData call returns."""
    seconds = (end - start).total_seconds()
    wanted = sum(int(seconds // s.query["MetricStat"]["Period"]) + 1 for s in series if "MetricStat" in s.query)
    if wanted > MAX_POINTS:
        raise BodyError(f"it asks for {wanted:,} data points over its time range; one GetMetricData call "
                        f"returns at most {MAX_POINTS:,}: give it a longer period or a shorter range")


def default_label(name: str, dimensions: list[dict]) -> str:
    """`Orders (Shop: a)`: the metric's name, and its dimension values to tell rows apart."""
    if not dimensions:
        return name
    return f"{name} ({', '.join(f'{d['Name']}: {d['Value']}' for d in dimensions)})"


def time_range(properties: dict, dashboard: Dashboard, now: datetime) -> tuple[datetime, datetime]:
    """(start, end) of a widget: its own `start`/`end`, else the dashboard's, else the last 3 hours."""
    end = _moment(properties.get("end") or dashboard.end, now, "end") or now
    start = _moment(properties.get("start") or dashboard.start, now, "start") or end - DEFAULT_RANGE
    if start >= end:
        raise BodyError(f"the time range starts ({start:%Y-%m-%d %H:%M:%S}) after it ends ({end:%Y-%m-%d %H:%M:%S})")
    return start, end


def _moment(text, now: datetime, what: str) -> datetime | None:
    if not text:
        return None
    if not isinstance(text, str):
        raise BodyError(f"{what} must be a string such as -PT3H, not {text!r}")
    relative = _DURATION.match(text)
    if relative and any(relative.groups()):
        weeks, days, hours, minutes, seconds = (int(part or 0) for part in relative.groups())
        return now - timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BodyError(f"{what} {text!r} is neither a duration such as -PT3H nor a time such as "
                        "2026-01-01T12:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def horizontal_annotations(properties: dict) -> list[dict]:
    """The widget's horizontal annotation lines as {value, label, color, axis}."""
    annotations = properties.get("annotations")
    found = []
    if isinstance(annotations, dict) and isinstance(annotations.get("horizontal"), list):
        for line in annotations["horizontal"]:
            if isinstance(line, dict) and isinstance(line.get("value"), (int, float)):
                found.append({"value": line["value"], "label": str(line.get("label") or line["value"]),
                              "color": line.get("color"), "axis": "right" if line.get("yAxis") == "right" else "left"})
    return found


def y_axes(properties: dict) -> dict:
    """The widget's yAxis settings ({left: {min, max, label}, right: {...}}), cleaned."""
    settings = properties.get("yAxis") if isinstance(properties.get("yAxis"), dict) else {}
    axes = {}
    for side in ("left", "right"):
        raw = settings.get(side) if isinstance(settings.get(side), dict) else {}
        axes[side] = {key: raw[key] for key in ("min", "max") if isinstance(raw.get(key), (int, float))}
        if isinstance(raw.get("label"), str):
            axes[side]["label"] = raw["label"]
    return axes

"""A CloudWatch dashboard's widgets, filled with what they show: metric data, numbers, Markdown.

Why this exists: `dashboard_body.py` translates a body without the engine; this module asks the
engine (`ListDashboards`, `GetDashboard`, one `GetMetricData` per metric widget) and turns each
widget into what its template draws: a chart document (`metric_charts`), big numbers for a
`singleValue` view, HTML for a text widget's Markdown, or a box saying the widget is not drawn
here. A widget that cannot be drawn says why inside its own box; the rest of the dashboard still
draws.

Markdown is rendered with markdown-it-py with raw HTML off. Nothing in it may load from another
host: an image becomes its alt text, and a link to another site becomes its text followed by the
address, not a link.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timezone
from html import escape

from botocore.exceptions import ClientError
from markdown_it import MarkdownIt

from edalab import settings
from edalab.console import dashboard_body, metric_charts
from edalab.plugins.cloudwatch.composite_rule import alarm_name

NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
NUMBER_VIEWS = ("singleValue", "gauge", "bar", "pie", "table")  # drawn here as their latest numbers


class UnknownDashboard(LookupError):
    pass


def dashboard_list(view) -> list[dict]:
    """Every dashboard: {name, modified, widgets: "2 metric, 1 text"}, by name."""
    def read() -> list[dict]:
        cloudwatch, found = view.client("cloudwatch"), []
        for page in cloudwatch.get_paginator("list_dashboards").paginate():
            found += [{"name": entry["DashboardName"], "modified": entry.get("LastModified")}
                      for entry in page.get("DashboardEntries", [])]
        for entry in found:
            entry["widgets"] = widget_counts(cloudwatch, entry["name"])
        return sorted(found, key=lambda entry: entry["name"])
    return view.cached(("dashboards",), read)


def widget_counts(cloudwatch, name: str) -> str:
    """`2 metric, 1 text` (or why the body cannot be drawn)."""
    try:
        widgets = dashboard_body.parse_dashboard(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"]).widgets
    except dashboard_body.BodyError as error:
        return f"cannot be drawn: {error}"
    except ClientError:
        return "—"  # deleted since it was listed
    counts = Counter(widget.type or "typeless" for widget in widgets)
    return ", ".join(f"{count} {kind}" for kind, count in counts.most_common()) or "no widgets"


def valid_name(name: str) -> bool:
    """A name PutDashboard accepts: 1 to 255 letters, digits, dashes and underscores."""
    return bool(NAME.match(name))


def dashboard(view, name: str, now: datetime | None = None) -> dict:
    """{name, widgets: [filled widget], problem}; UnknownDashboard when there is none by that name."""
    def read() -> dict:
        try:
            body = view.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"]
        except ClientError as error:
            detail = error.response.get("Error", {})
            # AWS says ResourceNotFound; LocalStack says InvalidParameterValue, "... does not exist"
            if "NotFound" in detail.get("Code", "") or "does not exist" in detail.get("Message", ""):
                raise UnknownDashboard(name) from None
            raise
        try:
            parsed = dashboard_body.parse_dashboard(body)
        except dashboard_body.BodyError as error:
            return {"name": name, "widgets": [], "problem": str(error), "body": body}
        moment = now or datetime.now(timezone.utc)
        widgets = [fill(view, widget, parsed, moment) for widget in parsed.widgets]
        return {"name": name, "widgets": widgets, "problem": "", "body": body}
    return view.cached(("dashboard", name), read)


def fill(view, widget: dashboard_body.Widget, parsed: dashboard_body.Dashboard, now: datetime) -> dict:
    """One widget with what its template needs (`kind`: chart, numbers, text, other, problem)."""
    filled = {"widget": widget, "title": widget.title, "notes": []}
    if widget.type == "text":
        return {**filled, "kind": "text", "html": markdown_html(str(widget.properties.get("markdown", "")))}
    if widget.type != "metric":
        alarms = widget.properties.get("alarms") if widget.type == "alarm" else None
        names = [alarm_name(str(arn)) for arn in alarms] if isinstance(alarms, list) else []
        return {**filled, "kind": "other", "alarms": names}
    try:
        series = dashboard_body.metric_series(widget.properties)
        start, end = dashboard_body.time_range(widget.properties, parsed, now)
        dashboard_body.check_points(series, start, end)
        results = metric_charts.metric_data(view.client("cloudwatch"), [s.query for s in series], start, end)
    except (dashboard_body.BodyError, metric_charts.MetricQueryError) as error:
        return {**filled, "kind": "problem", "message": str(error)}
    region = widget.properties.get("region")
    if region and region != settings.REGION:
        filled["notes"].append(f"this widget asks for region {region}; the engine's metrics are in {settings.REGION}")
    drawn = [{"id": s.id, "label": s.label, "color": s.color, "axis": s.axis} for s in series if s.visible]
    document = metric_charts.chart(results, drawn, start, end, stacked=bool(widget.properties.get("stacked")),
                                   axes=dashboard_body.y_axes(widget.properties))
    document["lines"] = dashboard_body.horizontal_annotations(widget.properties)
    filled["title"] = widget.title or ", ".join(s["label"] for s in drawn)
    if widget.view in NUMBER_VIEWS:
        if widget.view != "singleValue":
            filled["notes"].append(f"a {widget.view} view is drawn here as each metric's latest value")
        numbers = [{"label": s["label"], "value": metric_charts.number(s["last"]), "points": s["points"]}
                   for s in document["series"]]
        return {**filled, "kind": "numbers", "numbers": numbers, "chart": document}
    return {**filled, "kind": "chart", "chart": document}


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])

    def link_open(self, tokens, idx, options, env):
        href = tokens[idx].attrGet("href") or ""
        local = href.startswith(("/", "#")) and not href.startswith("//")
        env.setdefault("links", []).append("" if local else href)
        return self.renderToken(tokens, idx, options, env) if local else '<span class="offsite-link">'

    def link_close(self, tokens, idx, options, env):
        href = env.get("links", [""]).pop() if env.get("links") else ""
        if not href:
            return self.renderToken(tokens, idx, options, env)
        return f'</span> <span class="muted">({escape(href)})</span>'

    def image(self, tokens, idx, options, env):
        alt = self.renderInlineAsText(tokens[idx].children or [], options, env)
        return f'<span class="muted">[image: {escape(alt or "no description")}]</span>'

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("link_close", link_close)
    md.add_render_rule("image", image)
    return md


_MD = _markdown()


def markdown_html(text: str) -> str:
    """A text widget's Markdown as HTML: no raw HTML, nothing that loads from another host."""
    return _MD.render(text, {})

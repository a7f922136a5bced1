"""The console's dashboard pages in a real browser: a dashboard put by the test is drawn from its
body, its line chart with as many points as GetMetricData returns for the same query, a stacked
chart, a single value and a Markdown text widget, and it refreshes itself when data arrives."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

from browser import screenshot
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from edalab.waiting import wait_for

POINTS = 12

# The sizes of a chart's box, legend and plot, read together; null until the chart drawn in that box
# has been fitted to it (charts.js fits a chart in the frame after drawing it).
FITTED_CHART_SIZES = """id => {
  const box = document.getElementById(id), chart = window.edalabCharts.instances[id];
  if (!box || !chart || chart.root.parentNode !== box || chart.root.offsetHeight > box.clientHeight) return null;
  const legend = box.querySelector('.u-legend'), plot = box.querySelector('canvas');
  if (!legend || !plot) return null;
  const size = e => { const r = e.getBoundingClientRect(); return {y: r.y, height: r.height}; };
  return {box: size(box), legend: size(legend), plot: size(plot),
          legend_scrolls: legend.scrollHeight > legend.clientHeight};
}"""


def put_points(cloudwatch, namespace: str, shop: str, minutes: range, now: datetime) -> None:
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": "Orders", "Dimensions": [{"Name": "Shop", "Value": shop}],
         "Timestamp": now - timedelta(minutes=minute), "Value": float(minute + (10 if shop == "b" else 0))}
        for minute in minutes])


def points_returned(cloudwatch, namespace: str, now: datetime) -> dict:
    query = {"Id": "m1", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "Orders",
                                                   "Dimensions": [{"Name": "Shop", "Value": "a"}]},
                                        "Period": 60, "Stat": "Sum"}}
    return cloudwatch.get_metric_data(MetricDataQueries=[query], StartTime=now - timedelta(hours=1),
                                      EndTime=now + timedelta(minutes=1),
                                      ScanBy="TimestampAscending")["MetricDataResults"][0]


def test_a_dashboard_put_by_the_test_is_drawn_from_its_body(console_page, lab_engine):
    cloudwatch, run = lab_engine.client("cloudwatch"), uuid.uuid4().hex[:8]
    namespace, name = f"EdaLab/ConsoleTest/{run}", f"console-test-{run}"
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    for shop in ("a", "b"):
        put_points(cloudwatch, namespace, shop, range(2, 2 + POINTS), now)
    returned = wait_for(lambda: points_returned(cloudwatch, namespace, now), what=f"{POINTS} points stored",
                        until=lambda result: len(result["Values"]) == POINTS, timeout=15)
    orders = [namespace, "Orders", "Shop", "a"]
    body = {"start": "-PT1H", "widgets": [
        {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 7,
         "properties": {"title": "Orders, shop a", "metrics": [orders], "period": 60, "stat": "Sum",
                        "view": "timeSeries"}},
        {"type": "metric", "x": 12, "y": 0, "width": 12, "height": 7,
         "properties": {"title": "Orders, stacked", "metrics": [orders, ["...", "b"]], "period": 60, "stat": "Sum",
                        "stacked": True}},
        {"type": "metric", "x": 0, "y": 7, "width": 8, "height": 4,
         "properties": {"title": "Latest orders", "metrics": [orders, ["...", "b", {"label": "shop b"}]],
                        "period": 60, "stat": "Sum", "view": "singleValue"}},
        {"type": "text", "x": 8, "y": 7, "width": 16, "height": 4,
         "properties": {"markdown": "## Orders\n\nThe **shop a** line has one point a minute. "
                                    "[All alarms](/alarms), [AWS](https://aws.amazon.com)."}},
    ]}
    cloudwatch.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body))
    try:
        page = console_page
        page.goto("/dashboards")
        expect(page.locator(f'tr[data-dashboard="{name}"] a')).to_have_attribute("href", f"/dashboards/{name}")
        expect(page.locator(f'tr[data-dashboard="{name}"]')).to_contain_text("3 metric, 1 text")
        screenshot(page, "dashboards")
        page.goto(f"/dashboards/{name}")

        line = page.locator("#chart-0")
        expect(line.locator("canvas").first).to_be_visible()
        expect(line).to_have_attribute("data-points", str(len(returned["Values"])))
        drawn = json.loads(line.locator("script.chart-data").text_content())
        assert len(drawn["x"]) == len(returned["Values"]) == POINTS
        assert drawn["series"][0]["values"] == returned["Values"]
        assert drawn["x"] == [int(t.timestamp()) for t in returned["Timestamps"]]

        stacked = page.locator("#chart-1")
        expect(stacked.locator("canvas").first).to_be_visible()
        stacked_data = json.loads(stacked.locator("script.chart-data").text_content())
        assert stacked_data["stacked"] and [s["points"] for s in stacked_data["series"]] == [POINTS, POINTS]

        numbers = page.locator("#widget-2 .single-value")
        expect(numbers).to_have_count(2)
        expect(numbers.nth(0).locator(".number")).to_have_text("2")  # the newest minute's value
        expect(numbers.nth(1)).to_contain_text("shop b")
        expect(numbers.nth(1).locator(".number")).to_have_text("12")

        text = page.locator("#widget-3 .markdown")
        expect(text.locator("h2")).to_have_text("Orders")
        expect(text.locator("strong")).to_have_text("shop a")
        expect(text.locator("a")).to_have_attribute("href", "/alarms")  # the link to another host is not a link
        expect(text).to_contain_text("(https://aws.amazon.com)")

        widget, beside = page.evaluate("['widget-0', 'widget-1'].map(id => "  # one read: the page refreshes every 2 s
                                       "(r => ({x: r.x, y: r.y, width: r.width}))(document.getElementById(id).getBoundingClientRect()))")
        assert abs(widget["y"] - beside["y"]) < 2 and beside["x"] > widget["x"] + widget["width"]  # x 0 and x 12
        screenshot(page, "dashboard")

        put_points(cloudwatch, namespace, "a", range(1, 2), now)  # one more minute, while the page is open
        expect(line).to_have_attribute("data-points", str(POINTS + 1), timeout=10_000)
        expect(line.locator("canvas")).to_have_count(1)  # the new fragment's chart drawn, once
        assert page.evaluate("Object.keys(window.edalabCharts.instances).sort()") == ["chart-0", "chart-1"]
    finally:
        cloudwatch.delete_dashboards(DashboardNames=[name])


def test_an_unknown_or_impossible_dashboard_name_gets_a_page_that_says_so(console_page):
    answer = console_page.goto("/dashboards/no-such-dashboard")
    assert answer.status == 404
    expect(console_page.locator(".message")).to_contain_text("no dashboard named 'no-such-dashboard'")
    answer = console_page.goto("/dashboards/not%20a%20name")
    assert answer.status == 400
    expect(console_page.locator(".message")).to_contain_text("cannot be a dashboard name")


def test_a_legend_that_wraps_stays_inside_its_widget(console_page, lab_engine):
    """Series without labels are named by their dimensions; a narrow widget's legend then takes
    several rows, and the plot must shrink to leave them room, not push the last row out of view."""
    cloudwatch, run = lab_engine.client("cloudwatch"), uuid.uuid4().hex[:8]
    namespace, name = f"EdaLab/ConsoleTest/{run}", f"console-legend-{run}"
    reasons = ["no_items", "unknown_sku", "quantity_out_of_range", "missing_customer"]
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": "OrdersRejected", "Dimensions": [{"Name": "service", "Value": "orders"},
                                                        {"Name": "reason", "Value": reason}],
         "Timestamp": now - timedelta(minutes=2), "Value": 1.0} for reason in reasons])
    rows = [[namespace, "OrdersRejected", "service", "orders", "reason", reason] for reason in reasons]
    body = {"start": "-PT1H", "widgets": [
        {"type": "metric", "x": 0, "y": 0, "width": 8, "height": 6,
         "properties": {"title": "Rejected by reason", "metrics": rows, "period": 60, "stat": "Sum"}}]}
    cloudwatch.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body))
    try:
        page = console_page
        page.goto(f"/dashboards/{name}")
        expect(page.locator("#chart-0 .u-legend")).to_contain_text("missing_customer")
        # The page replaces the widget with a freshly drawn one every 2 s, so every size is read in
        # one script, from one chart, once that chart has been fitted to its box.
        try:
            drawn = page.wait_for_function(FITTED_CHART_SIZES, arg="chart-0", timeout=10_000).json_value()
        except PlaywrightTimeoutError:
            raise AssertionError("the chart never fitted its box in 10 s: the plot and its legend stay taller "
                                 "than the widget (charts.js's fit)") from None
        screenshot(page, "dashboard-wrapped-legend")
        box, legend, plot = drawn["box"], drawn["legend"], drawn["plot"]
        assert legend["height"] > 30, f"the legend should wrap in a widget this narrow: {drawn}"
        assert legend["y"] + legend["height"] <= box["y"] + box["height"] + 1, drawn
        assert plot["height"] >= 60, drawn
        assert drawn["legend_scrolls"], f"the rows that do not fit are scrolled to, not cut off: {drawn}"
    finally:
        cloudwatch.delete_dashboards(DashboardNames=[name])

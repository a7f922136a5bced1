"""A dashboard body's translation into grid places and GetMetricData queries (no engine): the
metrics array rules of CloudWatch's "Dashboard body structure and syntax", the grid, the time
range, Markdown that loads nothing from another host, and the chart document the page embeds."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from edalab.console.dashboard_body import (BodyError, Dashboard, check_points, expand_row, metric_series,
                                           parse_dashboard, time_range, y_axes)
from edalab.console.dashboard_widgets import markdown_html, valid_name
from edalab.console.metric_charts import chart, number

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def metric_of(series):
    return series.query["MetricStat"]["Metric"]


def test_a_metric_row_is_namespace_name_and_dimension_pairs_with_the_widget_stat_and_period():
    [row] = metric_series({"metrics": [["AWS/SQS", "NumberOfMessagesSent", "QueueName", "orders"]],
                           "stat": "Sum", "period": 60})
    assert row.query == {"Id": "m1", "Label": "NumberOfMessagesSent (QueueName: orders)", "ReturnData": True,
                         "MetricStat": {"Metric": {"Namespace": "AWS/SQS", "MetricName": "NumberOfMessagesSent",
                                                   "Dimensions": [{"Name": "QueueName", "Value": "orders"}]},
                                        "Period": 60, "Stat": "Sum"}}


def test_without_stat_or_period_a_row_is_the_average_over_300_seconds():
    [row] = metric_series({"metrics": [["Shop", "Orders"]]})
    assert row.query["MetricStat"]["Stat"] == "Average" and row.query["MetricStat"]["Period"] == 300
    assert metric_of(row)["Dimensions"] == [] and row.label == "Orders"


def test_three_dots_repeat_the_row_above_and_the_values_after_them_replace_its_end():
    rows = metric_series({"metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"], ["...", "i-2"]]})
    assert metric_of(rows[1]) == {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
                                  "Dimensions": [{"Name": "InstanceId", "Value": "i-2"}]}


def test_three_dots_alone_repeat_the_whole_row_and_its_options_differ():
    rows = metric_series({"metrics": [["Shop", "Orders", "Shop", "a"], ["...", {"stat": "Maximum", "label": "peak"}]],
                          "stat": "Sum"})
    assert metric_of(rows[0]) == metric_of(rows[1])
    assert rows[1].query["MetricStat"]["Stat"] == "Maximum" and rows[1].label == "peak"
    assert rows[0].query["MetricStat"]["Stat"] == "Sum"


def test_values_before_three_dots_start_the_row():
    assert expand_row(["Other", "...", "b"], ["Shop", "Orders", "Shop", "a"]) == ["Other", "Orders", "Shop", "b"]


def test_a_dot_is_the_value_at_the_same_place_in_the_row_above():
    rows = metric_series({"metrics": [["AWS/SQS", "NumberOfMessagesSent", "QueueName", "orders"],
                                      [".", "NumberOfMessagesDeleted", ".", "."]]})
    assert metric_of(rows[1]) == {"Namespace": "AWS/SQS", "MetricName": "NumberOfMessagesDeleted",
                                  "Dimensions": [{"Name": "QueueName", "Value": "orders"}]}


def test_shorthand_repeats_the_row_above_once_expanded_skipping_expressions():
    rows = metric_series({"metrics": [["Shop", "Orders", "Shop", "a"], ["...", "b"],
                                      [{"expression": "m1 + m2"}], [".", "Refunds", ".", "."]]})
    assert metric_of(rows[3]) == {"Namespace": "Shop", "MetricName": "Refunds",
                                  "Dimensions": [{"Name": "Shop", "Value": "b"}]}


def test_an_expression_row_is_a_query_of_its_own_with_an_e_id_and_its_label():
    rows = metric_series({"metrics": [["Shop", "Orders", "Shop", "a"], ["...", "b"],
                                      [{"expression": "m1 + m2", "label": "all shops"}]]})
    assert [r.id for r in rows] == ["m1", "m2", "e3"]
    assert rows[2].query == {"Id": "e3", "Expression": "m1 + m2", "Label": "all shops", "ReturnData": True}


def test_given_ids_are_kept_and_a_position_id_already_taken_is_not_reused():
    rows = metric_series({"metrics": [["Shop", "Orders", {"id": "m2"}], ["Shop", "Refunds"],
                                      [{"expression": "m2 * 2", "id": "double"}]]})
    assert [r.id for r in rows] == ["m2", "m2_1", "double"]


def test_options_set_label_color_axis_and_visibility():
    [hidden, shown] = metric_series({"metrics": [["Shop", "Orders", {"visible": False}],
                                                 ["Shop", "Refunds", {"color": "#ff0000", "yAxis": "right",
                                                                      "period": 10, "label": "refunds"}]]})
    assert not hidden.visible and shown.visible
    assert (shown.color, shown.axis, shown.label) == ("#ff0000", "right", "refunds")
    assert shown.query["MetricStat"]["Period"] == 10 and shown.query["Label"] == "refunds"


@pytest.mark.parametrize("metrics, says", [
    ([["...", "b"]], "there is none"),
    ([[".", "Orders"]], "has no value there"),
    ([["Shop", "Orders"], ["...", "x", "y", "z"]], "has only 2"),
    ([["Shop", "Orders", "Shop"]], "has no value"),
    ([["Shop"]], "namespace and a metric name"),
    ([["Shop", 3]], "must be strings"),
    ([[{"expression": ""}]], "non-empty string"),
    ([["Shop", "Orders", {"id": "M1"}]], "lowercase letter"),
    ([["Shop", "Orders", {"period": "60"}]], "whole number of seconds"),
    ([], "non-empty `metrics`"),
    (["Shop"], "non-empty array"),
])
def test_a_row_that_cannot_be_translated_says_which_and_why(metrics, says):
    with pytest.raises(BodyError, match=says):
        metric_series({"metrics": metrics})


def test_widgets_are_placed_on_the_24_column_grid_with_cloudwatch_sizes():
    body = {"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {}},
                        {"type": "text", "x": 20, "y": 6, "width": 8, "properties": {"markdown": "hi"}},
                        {"type": "log", "properties": {}}]}
    first, second, third = parse_dashboard(json.dumps(body)).widgets
    assert first.grid_style == "grid-column: 1 / span 12; grid-row: 1 / span 6;"
    assert second.grid_style == "grid-column: 21 / span 4; grid-row: 7 / span 6;"  # kept inside the grid
    assert third.grid_style == "grid-column: auto / span 6; grid-row: auto / span 6;"
    assert [w.type for w in (first, second, third)] == ["metric", "text", "log"]


@pytest.mark.parametrize("body, says", [
    ("{not json", "not JSON"),
    ("[]", "`widgets` array"),
    ('{"widgets": {}}', "`widgets` array"),
    ('{"widgets": [3]}', "widget 1 is not a JSON object"),
    ('{"widgets": [{"type": "text", "x": 24, "properties": {}}]}', "x must be a whole number from 0 to 23"),
    ('{"widgets": [{"type": "text", "width": 0, "properties": {}}]}', "width must be"),
])
def test_a_body_that_is_not_a_dashboard_says_why(body, says):
    with pytest.raises(BodyError, match=says):
        parse_dashboard(body)


def test_the_time_range_is_the_widgets_else_the_dashboards_else_three_hours():
    assert time_range({}, Dashboard(), NOW) == (NOW - timedelta(hours=3), NOW)
    assert time_range({}, Dashboard(start="-PT15M"), NOW) == (NOW - timedelta(minutes=15), NOW)
    assert time_range({"start": "-P1DT2H"}, Dashboard(start="-PT15M"), NOW) == (NOW - timedelta(days=1, hours=2), NOW)
    assert time_range({"start": "2026-11-24T10:00:00Z", "end": "2026-11-24T11:00:00.000Z"}, Dashboard(), NOW) == (
        datetime(2026, 11, 24, 10, tzinfo=timezone.utc), datetime(2026, 11, 24, 11, tzinfo=timezone.utc))
    with pytest.raises(BodyError, match="neither a duration"):
        time_range({"start": "yesterday"}, Dashboard(), NOW)
    with pytest.raises(BodyError, match="after it ends"):
        time_range({"start": "-PT1H", "end": "-PT2H"}, Dashboard(), NOW)


def test_y_axis_settings_are_kept_when_they_are_numbers():
    assert y_axes({"yAxis": {"left": {"min": 0, "max": "x", "label": "count"}, "right": {"max": 5}}}) == {
        "left": {"min": 0, "label": "count"}, "right": {"max": 5}}


def test_markdown_renders_without_raw_html_and_loads_nothing_from_another_host():
    html = markdown_html("# Orders\n\n**bold** <script>alert(1)</script> [alarms](/alarms) "
                         "[docs](https://example.com/x) ![chart](https://example.com/c.png)\n\n| a |\n|---|\n| 1 |")
    assert "<h1>Orders</h1>" in html and "<strong>bold</strong>" in html and "<table>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="/alarms">alarms</a>' in html
    assert 'href="https' not in html and "<img" not in html and "src=" not in html
    assert "(https://example.com/x)" in html and "[image: chart]" in html


def test_dashboard_names_are_letters_digits_dashes_and_underscores():
    assert valid_name("lab-07_orders") and not valid_name("../x") and not valid_name("a b") and not valid_name("")


def test_a_widget_that_would_ask_for_more_points_than_one_call_returns_says_so():
    series = metric_series({"metrics": [["Shop", "Orders"]], "period": 1})
    check_points(series, NOW - timedelta(hours=3), NOW)  # 10,801 points
    with pytest.raises(BodyError, match="at most 100,800"):
        check_points(series, NOW - timedelta(days=2), NOW)


def test_the_chart_document_aligns_series_on_their_timestamps_and_counts_the_points():
    t = [NOW + timedelta(minutes=m) for m in range(3)]
    results = {"m1": {"label": "a", "timestamps": [t[0], t[1], t[2]], "values": [1.0, 2.0, 3.0], "messages": []},
               "m2": {"label": "b", "timestamps": [t[1]], "values": [float("nan")], "messages": ["partial"]}}
    document = chart(results, [{"id": "m2", "label": "B"}, {"id": "m1", "label": "A"}, {"id": "gone", "label": "x"}],
                     NOW - timedelta(hours=1), NOW + timedelta(minutes=5))
    assert document["x"] == [int(moment.timestamp()) for moment in t]
    assert [s["label"] for s in document["series"]] == ["B", "A"]
    assert document["series"][0]["values"] == [None, None, None]  # NaN is no JSON number
    assert document["series"][1]["values"] == [1.0, 2.0, 3.0] and document["series"][1]["last"] == 3.0
    assert document["points"] == 4 and document["messages"] == ["partial"]
    json.dumps(document, allow_nan=False)


def test_numbers_read_as_a_learner_reads_them():
    assert [number(v) for v in (None, 3.0, 0.25, 1234.5, 1234567.0)] == ["—", "3", "0.25", "1,234.5", "1,234,567"]

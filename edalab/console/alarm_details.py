"""Alarms as the console shows them: state, reason, what is watched, against what, and why.

Why this exists: `DescribeAlarms` answers in CloudWatch's vocabulary (ComparisonOperator,
EvaluationPeriods, action ARNs, a metric or a list of metric-math queries). A learner wants
"edalab-orders-dlq-not-empty is in ALARM because ... when the maximum of
ApproximateNumberOfMessagesVisible (QueueName = edalab-orders-dlq) over 10 s is > 0 for 1 of 1
periods, it emails edalab-order-alerts". This module reads alarms, their history and the data
of their metric through the AWS API, and says all that in plain words; the page module only
routes and renders.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from edalab.console import metric_charts
from edalab.plugins.cloudwatch.composite_rule import RuleError, alarm_name, parse_rule, referenced_alarms

SHORT_WINDOW, LONG_WINDOW = timedelta(minutes=30), timedelta(minutes=60)
MAX_NAME = 255
COMPARISONS = {
    "GreaterThanOrEqualToThreshold": "≥", "GreaterThanThreshold": ">", "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "≤", "LessThanLowerOrGreaterThanUpperThreshold": "outside the band",
    "LessThanLowerThreshold": "below the band", "GreaterThanUpperThreshold": "above the band",
}
STATE_CLASS = {"ALARM": "bad", "OK": "ok", "INSUFFICIENT_DATA": "muted"}


def all_alarms(view) -> list[dict]:
    """Every metric and composite alarm, described, those in ALARM first, then by name."""
    def read() -> list[dict]:
        found = []
        paginator = view.client("cloudwatch").get_paginator("describe_alarms")
        for page in paginator.paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
            found += [describe(alarm, "metric") for alarm in page.get("MetricAlarms", [])]
            found += [describe(alarm, "composite") for alarm in page.get("CompositeAlarms", [])]
        states = {alarm["name"]: alarm["state"] for alarm in found}
        for alarm in found:
            if alarm["kind"] == "composite":
                alarm["children"] = [{"name": child, "state": states.get(child)} for child in alarm["child_names"]]
        return sorted(found, key=lambda alarm: (alarm["state"] != "ALARM", alarm["name"]))
    return view.cached(("alarms",), read)


def find(view, name: str) -> dict | None:
    return next((alarm for alarm in all_alarms(view) if alarm["name"] == name), None)


def describe(alarm: dict, kind: str) -> dict:
    """One alarm in the words the page shows."""
    state = alarm.get("StateValue", "INSUFFICIENT_DATA")
    described = {
        "kind": kind, "name": alarm["AlarmName"], "description": alarm.get("AlarmDescription", ""),
        "state": state, "state_class": STATE_CLASS.get(state, "muted"), "reason": alarm.get("StateReason", ""),
        "since": alarm.get("StateUpdatedTimestamp"), "actions_enabled": alarm.get("ActionsEnabled", True),
        "actions": {when: [action_name(arn) for arn in alarm.get(key, [])]
                    for when, key in (("ALARM", "AlarmActions"), ("OK", "OKActions"),
                                      ("INSUFFICIENT_DATA", "InsufficientDataActions")) if alarm.get(key)},
        "raw": alarm,
    }
    if kind == "composite":
        rule = alarm.get("AlarmRule", "")
        try:
            children = sorted({alarm_name(reference) for reference in referenced_alarms(parse_rule(rule))})
        except RuleError:
            children = []
        described.update(rule=rule, child_names=children, children=[])
        return described
    period = alarm.get("Period") or query_period(alarm.get("Metrics", []))
    evaluation = alarm.get("EvaluationPeriods", 1)
    described.update(
        watches=watched(alarm), queries=[query_words(q) for q in alarm.get("Metrics", [])],
        threshold=alarm.get("Threshold"), threshold_text=metric_charts.number(alarm.get("Threshold")), comparison=COMPARISONS.get(alarm.get("ComparisonOperator", ""),
                                                                     alarm.get("ComparisonOperator", "")),
        period=period, evaluation_periods=evaluation, datapoints=alarm.get("DatapointsToAlarm", evaluation),
        missing=alarm.get("TreatMissingData", "missing"),
        threshold_metric=alarm.get("ThresholdMetricId"),
    )
    return described


def query_period(queries: list[dict]) -> int | None:
    """The period of a metric-math alarm: its compared query's, else that of the metrics it reads."""
    for query in sorted(queries, key=lambda q: not q.get("ReturnData", True)):
        if query.get("Period") or "MetricStat" in query:
            return query.get("Period") or query["MetricStat"]["Period"]
    return None


def action_name(arn: str) -> str:
    """An SNS topic's name from its ARN (`arn:aws:sns:…:edalab-order-alerts` → edalab-order-alerts);
    any other action ARN after its service, e.g. `lambda: …function:name`."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sns":
        return parts[5]
    return f"{parts[2]}: {parts[5]}" if len(parts) == 6 else arn


def dimensions_words(dimensions: list[dict]) -> str:
    return ", ".join(f"{d['Name']} = {d['Value']}" for d in dimensions) or "no dimensions"


def watched(alarm: dict) -> str:
    """`Maximum of AWS/SQS ApproximateNumberOfMessagesVisible (QueueName = edalab-orders-dlq)`,
    or, for an alarm on metric math, the expression it compares."""
    if alarm.get("MetricName"):
        stat = alarm.get("Statistic") or alarm.get("ExtendedStatistic") or "?"
        return (f"{stat} of {alarm.get('Namespace', '')} {alarm['MetricName']} "
                f"({dimensions_words(alarm.get('Dimensions', []))})")
    returned = next((q for q in alarm.get("Metrics", []) if q.get("ReturnData", True)), None)
    if returned is None:
        return "no metric"
    return query_words(returned)["what"]


def query_words(query: dict) -> dict:
    """One of an alarm's `Metrics` queries: {id, what, label, returned}."""
    if "Expression" in query:
        what = f"expression {query['Expression']}"
    else:
        stat = query.get("MetricStat", {})
        metric = stat.get("Metric", {})
        what = (f"{stat.get('Stat', '?')} of {metric.get('Namespace', '')} {metric.get('MetricName', '')} "
                f"({dimensions_words(metric.get('Dimensions', []))}) per {stat.get('Period', '?')} s")
    return {"id": query["Id"], "what": what, "label": query.get("Label", ""),
            "returned": query.get("ReturnData", True)}


def history(view, name: str) -> list[dict]:
    """The alarm's history, newest first: state changes with their old and new state."""
    def read() -> list[dict]:
        items = []
        paginator = view.client("cloudwatch").get_paginator("describe_alarm_history")
        for page in paginator.paginate(AlarmName=name, ScanBy="TimestampDescending",
                                       PaginationConfig={"MaxItems": 100}):
            items += page.get("AlarmHistoryItems", [])
        items.sort(key=lambda item: item["Timestamp"], reverse=True)
        return [history_entry(item) for item in items]
    return view.cached(("alarm-history", name), read)


def history_entry(item: dict) -> dict:
    entry = {"when": item["Timestamp"], "type": item.get("HistoryItemType", ""),
             "summary": item.get("HistorySummary", ""), "old": None, "new": None, "reason": ""}
    if entry["type"] == "StateUpdate":
        try:
            data = json.loads(item.get("HistoryData") or "{}")
            entry["old"] = data.get("oldState", {}).get("stateValue")
            entry["new"] = data.get("newState", {}).get("stateValue")
            entry["reason"] = data.get("newState", {}).get("stateReason", "")
        except (ValueError, AttributeError):
            pass
    return entry


def chart_window(period: int | None) -> timedelta:
    """30 minutes for a period up to a minute, else an hour (or 10 periods, when that is longer)."""
    if not period or period <= 60:
        return SHORT_WINDOW
    return max(LONG_WINDOW, timedelta(seconds=10 * period))


def chart(view, alarm: dict) -> dict | None:
    """The alarm's metric over the last 30-60 minutes at its period, with its threshold line;
    None for a composite alarm (it has no metric)."""
    if alarm["kind"] != "metric":
        return None
    raw = alarm["raw"]
    queries, series = alarm_queries(raw)
    end = datetime.now(timezone.utc)
    window = chart_window(alarm["period"])
    start = end - window

    def read() -> dict:
        try:
            results = metric_charts.metric_data(view.client("cloudwatch"), queries, start, end)
        except metric_charts.MetricQueryError as error:
            results = {}
            problem = str(error)
        else:
            problem = ""
        threshold = raw.get("Threshold")
        document = metric_charts.chart(results, series, start, end, threshold=threshold, period=alarm["period"],
                                       minutes=int(window.total_seconds() // 60))
        if threshold is not None:
            document["lines"].append({"value": threshold, "label": f"threshold {alarm['comparison']} "
                                      f"{metric_charts.number(threshold)}", "color": "#c62828", "axis": "left"})
        if problem:
            document["messages"].append(problem)
        return document
    return view.cached(("alarm-chart", alarm["name"]), read)


def alarm_queries(raw: dict) -> tuple[list[dict], list[dict]]:
    """GetMetricData queries that ask what the alarm evaluates, and the series to draw."""
    if raw.get("Metrics"):
        queries = [{key: value for key, value in query.items() if key != "AccountId"} for query in raw["Metrics"]]
        drawn = [{"id": q["Id"], "label": q.get("Label") or q.get("Expression") or q["Id"]}
                 for q in queries if q.get("ReturnData", True)]
        return queries, drawn
    stat = raw.get("Statistic") or raw.get("ExtendedStatistic")
    metric_stat = {"Metric": {"Namespace": raw["Namespace"], "MetricName": raw["MetricName"],
                              "Dimensions": raw.get("Dimensions", [])},
                   "Period": raw["Period"], "Stat": stat}
    if raw.get("Unit"):
        metric_stat["Unit"] = raw["Unit"]
    label = f"{stat} of {raw['MetricName']}"
    return [{"Id": "m1", "MetricStat": metric_stat, "Label": label, "ReturnData": True}], [{"id": "m1", "label": label}]


def valid_name(name: str) -> bool:
    """An alarm name AWS could hold (1 to 255 characters, no control characters)."""
    return 0 < len(name) <= MAX_NAME and all(ch.isprintable() for ch in name)

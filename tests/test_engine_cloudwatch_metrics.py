"""CloudWatch metric queries on the engine as AWS documents them: exact dimension sets, percentiles,
statistic sets and units, and metric math in GetMetricData.

AWS: "CloudWatch treats each unique combination of dimensions as a separate metric. If a specific
combination of dimensions was not published, you can't retrieve statistics for it."
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension)
LocalStack's stock provider matches `Name=Value` as a substring, has no percentiles, and answers 500
to an Expression (edalab.plugins.cloudwatch.metric_queries).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

MINUTE = timedelta(minutes=1)


def _minutes_ago(n: int) -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0) - n * MINUTE


def _window() -> dict:
    return {"StartTime": _minutes_ago(10), "EndTime": _minutes_ago(-1)}


def _stat(namespace: str, name: str, stat: str, dims: list[dict] | None = None, unit: str | None = None) -> dict:
    metric = {"Namespace": namespace, "MetricName": name, "Dimensions": dims or []}
    return {"Metric": metric, "Period": 60, "Stat": stat, **({"Unit": unit} if unit else {})}


def _queue(name: str) -> list[dict]:
    return [{"Name": "QueueName", "Value": name}]


def test_a_dimension_set_reads_only_its_own_series(engine, unique):
    cloudwatch = engine.client("cloudwatch")
    namespace, at = f"EdaLab/Exact{unique}", _minutes_ago(3)
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": "Sent", "Dimensions": _queue("orders"), "Value": 1, "Timestamp": at},
        {"MetricName": "Sent", "Dimensions": _queue("orders-dlq"), "Value": 10, "Timestamp": at},
        {"MetricName": "Sent", "Dimensions": [*_queue("orders"), {"Name": "Env", "Value": "dev"}],
         "Value": 100, "Timestamp": at},
    ])

    points = cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName="Sent", Dimensions=_queue("orders"), Period=60,
        Statistics=["Sum", "SampleCount"], **_window())["Datapoints"]
    assert [(p["Sum"], p["SampleCount"]) for p in points] == [(1.0, 1.0)]  # not 111: no dlq, no Env series

    results = cloudwatch.get_metric_data(**_window(), MetricDataQueries=[
        {"Id": "orders", "MetricStat": _stat(namespace, "Sent", "Sum", _queue("orders"))},
        {"Id": "dlq", "MetricStat": _stat(namespace, "Sent", "Sum", _queue("orders-dlq"))},
        {"Id": "none", "MetricStat": _stat(namespace, "Sent", "Sum")},  # no series has no dimensions
    ])["MetricDataResults"]
    assert {r["Id"]: r["Values"] for r in results} == {"orders": [1.0], "dlq": [10.0], "none": []}

    def listed(**filters) -> list[list[tuple]]:
        metrics = cloudwatch.list_metrics(Namespace=namespace, **filters)["Metrics"]
        return sorted(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in metrics)

    # ListMetrics: a name and value match exactly; a metric may have more dimensions than the filter
    assert listed(Dimensions=_queue("orders")) == [
        [("Env", "dev"), ("QueueName", "orders")], [("QueueName", "orders")],
    ]
    assert len(listed(Dimensions=[{"Name": "QueueName"}])) == 3  # a name alone: any value
    assert listed(Dimensions=[{"Name": "Env"}]) == [[("Env", "dev"), ("QueueName", "orders")]]
    assert listed(MetricName="Received") == []


def test_percentiles_statistic_sets_and_units(engine, unique):
    cloudwatch = engine.client("cloudwatch")
    namespace, at = f"EdaLab/Stats{unique}", _minutes_ago(3)
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": "Latency", "Values": [float(v) for v in range(1, 101)], "Unit": "Milliseconds",
         "Timestamp": at},
        {"MetricName": "Batch", "Values": [1, 2], "Counts": [3, 1], "Timestamp": at},
        {"MetricName": "Batch", "StatisticValues": {"SampleCount": 2, "Sum": 10, "Minimum": 4, "Maximum": 6},
         "Timestamp": at},
    ])

    [latency] = cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName="Latency", Period=60, ExtendedStatistics=["p95", "p99"],
        **_window())["Datapoints"]
    assert latency["ExtendedStatistics"] == {"p95": 95.0, "p99": 99.0}
    assert latency["Unit"] == "Milliseconds"

    results = cloudwatch.get_metric_data(**_window(), MetricDataQueries=[
        {"Id": "p95", "MetricStat": _stat(namespace, "Latency", "p95")},
        {"Id": "in_ms", "MetricStat": _stat(namespace, "Latency", "SampleCount", unit="Milliseconds")},
        {"Id": "in_s", "MetricStat": _stat(namespace, "Latency", "SampleCount", unit="Seconds")},
    ])["MetricDataResults"]
    assert {r["Id"]: r["Values"] for r in results} == {"p95": [95.0], "in_ms": [100.0], "in_s": []}

    [batch] = cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName="Batch", Period=60,
        Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"], **_window())["Datapoints"]
    # values 1,1,1,2 and a set of 2 samples summing 10 between 4 and 6
    assert (batch["SampleCount"], batch["Sum"], batch["Average"], batch["Minimum"], batch["Maximum"]) == (
        6.0, 15.0, 2.5, 1.0, 6.0)

    with pytest.raises(ClientError) as refused:
        cloudwatch.get_metric_statistics(Namespace=namespace, MetricName="Batch", Period=60, **_window())
    assert refused.value.response["Error"]["Code"] == "InvalidParameterCombination"


def test_metric_math_error_rate_and_functions(engine, unique):
    cloudwatch = engine.client("cloudwatch")
    namespace = f"EdaLab/Math{unique}"
    minutes = [_minutes_ago(4), _minutes_ago(3), _minutes_ago(2)]
    errors, invocations = [1, 0, 3], [10, 0, 4]  # the middle minute has no invocations at all
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": name, "Value": value, "Timestamp": at}
        for at, e, i in zip(minutes, errors, invocations, strict=True)
        for name, value in (("Errors", e), ("Invocations", i))
    ])
    results = cloudwatch.get_metric_data(**_window(), ScanBy="TimestampAscending", MetricDataQueries=[
        {"Id": "errors", "MetricStat": _stat(namespace, "Errors", "Sum"), "ReturnData": False},
        {"Id": "invocations", "MetricStat": _stat(namespace, "Invocations", "Sum"), "ReturnData": False},
        {"Id": "error_rate", "Expression": "100 * errors / invocations", "Label": "Error rate (%)"},
        {"Id": "busy", "Expression": "IF(invocations > 5 OR errors >= 3, 1, 0)"},
        {"Id": "total", "Expression": "SUM(METRICS())"},
        {"Id": "change", "Expression": "DIFF(FILL(invocations, 0))", "ReturnData": False},
        {"Id": "drop", "Expression": "ABS(MIN(change))"},
    ])["MetricDataResults"]
    by_id = {r["Id"]: r for r in results}
    assert set(by_id) == {"error_rate", "busy", "total", "drop"}  # ReturnData=False hides the rest
    rate = by_id["error_rate"]
    assert rate["Label"] == "Error rate (%)"
    assert rate["Timestamps"] == [minutes[0], minutes[2]]  # 0 / 0 gives no point, as on AWS
    assert rate["Values"] == [10.0, 75.0]
    assert [m["Code"] for m in rate["Messages"]] == ["ArithmeticError"]
    assert by_id["busy"]["Values"] == [1.0, 0.0, 1.0]
    assert by_id["total"]["Values"] == [11.0, 0.0, 7.0]
    assert set(by_id["drop"]["Values"]) == {10.0}  # the largest fall between minutes, on every period

    descending = cloudwatch.get_metric_data(**_window(), MetricDataQueries=[
        {"Id": "invocations", "MetricStat": _stat(namespace, "Invocations", "Sum")},
    ])["MetricDataResults"][0]
    assert descending["Timestamps"] == minutes[::-1]  # TimestampDescending is the default

    for bad, complaint in (("100 * errors /", "ends where a value"), ("errors * nope", "nope")):
        with pytest.raises(ClientError) as refused:
            cloudwatch.get_metric_data(**_window(), MetricDataQueries=[
                {"Id": "errors", "MetricStat": _stat(namespace, "Errors", "Sum")},
                {"Id": "bad", "Expression": bad},
            ])
        error = refused.value.response["Error"]
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert error["Code"] == "ValidationError" and complaint in error["Message"]

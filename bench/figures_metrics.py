"""Benchmark figure of CloudWatch metric queries (issue #13, item 4): how long GetMetricData takes
with metric math (`100 * errors / invocations`) over three hours of one-minute data, and, as the
baseline measured in the same run, the same two metrics read without the expression.

Call: `figures_metrics.metric_math_query(endpoint, runs=30)` on an engine of the bench's own.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from figures import Figure, loop_ms

from edalab import aws

HOURS = 3


def metric_math_query(endpoint: str, runs: int) -> Figure:
    cloudwatch = aws.client("cloudwatch", endpoint)
    namespace = f"EdaLab/Bench{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    minutes = [now - timedelta(minutes=m) for m in range(1, HOURS * 60)]
    data = [
        {"MetricName": name, "Value": value, "Timestamp": at}
        for i, at in enumerate(minutes)
        for name, value in (("Errors", i % 3), ("Invocations", 10 + i % 7))
    ]
    for first in range(0, len(data), 1000):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[first:first + 1000])

    def stat(name: str) -> dict:
        return {"Metric": {"Namespace": namespace, "MetricName": name}, "Period": 60, "Stat": "Sum"}

    metrics = [{"Id": "errors", "MetricStat": stat("Errors")}, {"Id": "invocations", "MetricStat": stat("Invocations")}]
    window = {"StartTime": now - timedelta(hours=HOURS), "EndTime": now}
    with_math = [dict(m, ReturnData=False) for m in metrics] + [
        {"Id": "error_rate", "Expression": "100 * errors / invocations"}]
    engine = loop_ms(lambda: cloudwatch.get_metric_data(MetricDataQueries=with_math, **window), runs)
    plain = loop_ms(lambda: cloudwatch.get_metric_data(MetricDataQueries=metrics, **window), runs)
    return Figure("GetMetricData, error rate over 3 h of 1-minute data", "ms", engine,
                  {"same two metrics without math": plain})

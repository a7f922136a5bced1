"""Benchmark figures of the metrics the engine now publishes by itself (issue #13, item 3).

- `emf_put_log_events`: PutLogEvents of 100 Powertools-shaped Embedded Metric Format lines (each
  becoming 2 metrics), against the same call with 100 plain JSON lines of the same size, measured
  in the same run: what extracting the metrics costs the caller.
- `emf_metric_delay`: from PutLogEvents of one EMF line returning to its metric being readable
  with GetMetricStatistics (polled every 20 ms): how long a learner waits for a metric to show
  (data points are sent once a second; AWS takes up to a minute or so).

Call: `figures_aws_metrics.emf_put_log_events(endpoint, runs=30)` and
`figures_aws_metrics.emf_metric_delay(endpoint, runs=15)` on an engine of the bench's own.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

from figures import Figure, loop_ms

from edalab import aws
from edalab.waiting import wait_for

LINES = 100


def _emf_line(namespace: str, n: int) -> str:
    return json.dumps({
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
            "Namespace": namespace, "Dimensions": [["service", "route"]],
            "Metrics": [{"Name": "OrdersPlaced", "Unit": "Count"}, {"Name": "CheckoutLatency", "Unit": "Milliseconds"}],
        }]},
        "service": "orders", "route": "/checkout", "OrdersPlaced": [1.0], "CheckoutLatency": [float(n % 250)],
    })


def _log_stream(logs) -> tuple[str, str]:
    group = f"/edalab/bench-emf-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    return group, "s"


def emf_put_log_events(endpoint: str, runs: int) -> Figure:
    logs = aws.client("logs", endpoint)
    group, stream = _log_stream(logs)
    namespace = f"EdaLab/Bench{uuid.uuid4().hex[:8]}"

    def put(lines) -> None:
        now = int(time.time() * 1000)
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": now, "message": line} for line in lines])

    emf = [_emf_line(namespace, n) for n in range(LINES)]
    plain = [line.replace('"_aws"', '"_not"') for line in emf]  # same size, not EMF
    try:
        with_metrics = loop_ms(lambda: put(emf), runs)
        without = loop_ms(lambda: put(plain), runs)
    finally:
        logs.delete_log_group(logGroupName=group)
    return Figure(f"PutLogEvents of {LINES} EMF lines (2 metrics each)", "ms", with_metrics,
                  {"same call, plain JSON lines": without})


def emf_metric_delay(endpoint: str, runs: int) -> Figure:
    logs, cloudwatch = aws.client("logs", endpoint), aws.client("cloudwatch", endpoint)
    group, stream = _log_stream(logs)
    samples = []
    try:
        for _ in range(runs + 1):
            namespace = f"EdaLab/Bench{uuid.uuid4().hex[:8]}"
            time.sleep(random.random())  # lines arrive at any moment of the once-a-second send
            logs.put_log_events(logGroupName=group, logStreamName=stream,
                                logEvents=[{"timestamp": int(time.time() * 1000), "message": _emf_line(namespace, 1)}])
            put_at = time.perf_counter()
            now = datetime.now(UTC)
            wait_for(lambda: cloudwatch.get_metric_statistics(
                Namespace=namespace, MetricName="OrdersPlaced",
                Dimensions=[{"Name": "service", "Value": "orders"}, {"Name": "route", "Value": "/checkout"}],
                StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1), Period=60,
                Statistics=["Sum"])["Datapoints"], what="the EMF metric", interval=0.02, timeout=30)
            samples.append((time.perf_counter() - put_at) * 1000)
    finally:
        logs.delete_log_group(logGroupName=group)
    return Figure("EMF line to readable metric", "ms", samples[1:])

"""Benchmark figure of CloudWatch Logs metric filters (issue #13, item 1): log events per second
through 5 metric filters on one log group, put with PutLogEvents in batches as a function's logs
arrive, from the first call until CloudWatch holds every data point (one of the filters has a
defaultValue, so it publishes one sample per event: its SampleCount tells when all are there);
and, as the baseline measured in the same run, the same PutLogEvents calls to a log group with
no metric filter.

Call: `figures_logs.metric_filter_throughput(endpoint, events=50_000, runs=3)` on an engine of
the bench's own. The baseline is named "no metric filter" in the figure's baselines.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from figures import Figure

from edalab import aws
from edalab.waiting import wait_for

BATCH = 500  # events per PutLogEvents call


def _filters(namespace: str) -> list[dict]:
    """Five filters of the kinds a learner writes: terms, JSON tests, a field value, a dimension."""
    def transformation(name: str, value: str = "1", **extra) -> list[dict]:
        return [{"metricName": name, "metricNamespace": namespace, "metricValue": value, **extra}]
    return [
        {"filterName": "errors", "filterPattern": "ERROR", "metricTransformations": transformation("Errors")},
        {"filterName": "failed", "filterPattern": '{ $.level = "ERROR" && $.reason EXISTS }',
         "metricTransformations": transformation("Failed")},
        {"filterName": "latency", "filterPattern": "{ $.latency > 0 }",
         "metricTransformations": transformation("Latency", "$.latency", unit="Milliseconds")},
        {"filterName": "by-route", "filterPattern": "{ $.route = \"/orders*\" }",
         "metricTransformations": transformation("Requests", dimensions={"Route": "$.route"})},
        {"filterName": "slow", "filterPattern": "{ $.latency >= 900 || $.retries > 2 }",
         "metricTransformations": transformation("Slow", defaultValue=0)},
    ]


def _messages(count: int) -> list[str]:
    return [json.dumps({"level": "ERROR" if n % 10 == 0 else "INFO", "route": f"/orders/{n % 3}",
                        "latency": n % 1000, "retries": n % 4, **({"reason": "declined"} if n % 10 == 0 else {})})
            for n in range(count)]


def _put_all(logs, group: str, messages: list[str], until_stored=lambda: None) -> float:
    """Events per second of PutLogEvents for `messages` in batches of BATCH, until `until_stored()` returns."""
    stream = "bench"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000) - len(messages)
    started = time.perf_counter()
    for first in range(0, len(messages), BATCH):
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": now + first + index, "message": message}
            for index, message in enumerate(messages[first:first + BATCH])])
    until_stored()
    return len(messages) / (time.perf_counter() - started)


def _samples_stored(cloudwatch, namespace: str, metric: str) -> float:
    at = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(Namespace=namespace, MetricName=metric, Period=3600,
                                              StartTime=at - timedelta(hours=2), EndTime=at + timedelta(minutes=5),
                                              Statistics=["SampleCount"])["Datapoints"]
    return sum(point["SampleCount"] for point in points)


def metric_filter_throughput(endpoint: str, events: int, runs: int) -> Figure:
    logs, cloudwatch = aws.client("logs", endpoint), aws.client("cloudwatch", endpoint)
    messages = _messages(events)
    filtered, bare = [], []
    for _ in range(runs):
        suffix = uuid.uuid4().hex[:8]
        namespace, group, plain = f"EdaLab/BenchLogs-{suffix}", f"/bench/filtered-{suffix}", f"/bench/plain-{suffix}"
        for name in (group, plain):
            logs.create_log_group(logGroupName=name)
        for metric_filter in _filters(namespace):
            logs.put_metric_filter(logGroupName=group, **metric_filter)
        def every_sample_stored(namespace=namespace):
            wait_for(lambda: _samples_stored(cloudwatch, namespace, "Slow"), what=f"{events} Slow samples stored",
                     timeout=300, interval=0.05, until=lambda total: total >= events)
        try:
            filtered.append(_put_all(logs, group, messages, every_sample_stored))
            bare.append(_put_all(logs, plain, messages))
        finally:
            for name in (group, plain):
                logs.delete_log_group(logGroupName=name)
    return Figure(f"PutLogEvents through 5 metric filters, {events:,} events (batches of {BATCH})", "events/s",
                  filtered, {"no metric filter": bare})

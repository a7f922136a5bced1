"""How Lambda's metrics are shaped before they reach CloudWatch (edalab.plugins.lambda_.metrics and the
shared batcher, edalab.plugins.metric_batches; no engine needed)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from edalab.plugins.lambda_.metrics import ConcurrencyGauge, invocation_dimension_sets, qualifier_of
from edalab.plugins.metric_batches import MetricBatcher

ACCOUNT, REGION = "000000000000", "us-east-1"


def test_dimension_sets_are_the_function_the_alias_or_version_and_all_functions():
    assert invocation_dimension_sets("f", None, "$LATEST") == [(("FunctionName", "f"),), ()]
    assert invocation_dimension_sets("f", "3", "3") == [
        (("FunctionName", "f"),), (("FunctionName", "f"), ("Resource", "f:3")), ()]
    assert invocation_dimension_sets("f", "live", "3") == [
        (("FunctionName", "f"),),
        (("FunctionName", "f"), ("Resource", "f:live")),
        (("FunctionName", "f"), ("Resource", "f:live"), ("ExecutedVersion", "3")),
        (),
    ]


def test_qualifier_of_an_invoked_arn():
    arn = "arn:aws:lambda:us-east-1:000000000000:function:f"
    assert (qualifier_of(arn), qualifier_of(f"{arn}:live"), qualifier_of(None)) == (None, "live", None)


def test_concurrency_is_the_most_that_ran_at_once_in_each_period_and_nothing_when_idle():
    gauge = ConcurrencyGauge()
    for _ in range(3):
        gauge.enter(ACCOUNT, REGION, "f")
    gauge.enter(ACCOUNT, REGION, "g")
    gauge.leave(ACCOUNT, REGION, "f")
    gauge.leave(ACCOUNT, REGION, "f")
    assert gauge.take_peaks() == {(ACCOUNT, REGION, "f"): 3, (ACCOUNT, REGION, "g"): 1, (ACCOUNT, REGION, ""): 4}
    # next period: one f and the g still run
    assert gauge.take_peaks() == {(ACCOUNT, REGION, "f"): 1, (ACCOUNT, REGION, "g"): 1, (ACCOUNT, REGION, ""): 2}
    gauge.leave(ACCOUNT, REGION, "f")
    gauge.leave(ACCOUNT, REGION, "g")
    assert gauge.take_peaks() == {(ACCOUNT, REGION, "f"): 1, (ACCOUNT, REGION, "g"): 1, (ACCOUNT, REGION, ""): 2}
    assert gauge.take_peaks() == {}  # idle: Lambda sends nothing


def test_the_gauge_counts_right_under_many_threads():
    gauge = ConcurrencyGauge()

    def run():
        for _ in range(1000):
            gauge.enter(ACCOUNT, REGION, "f")
            gauge.leave(ACCOUNT, REGION, "f")

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gauge.take_peaks()
    assert gauge.take_peaks() == {}  # everything that entered has left


def test_the_batcher_keeps_timestamps_units_resolution_and_namespaces_apart():
    calls = []
    batcher = MetricBatcher(send=lambda account, region, namespace, data: calls.append((namespace, data)))
    then = datetime(2026, 11, 24, 12, 0, 5, tzinfo=UTC)
    batcher.add(ACCOUNT, REGION, "AWS/Lambda", "Duration", 12.5, "Milliseconds", (("FunctionName", "f"),), then)
    batcher.add(ACCOUNT, REGION, "AWS/Lambda", "Duration", 12.5, "Milliseconds", (("FunctionName", "f"),), then)
    batcher.add(ACCOUNT, REGION, "Shop", "Latency", 3, "Milliseconds", (), then, storage_resolution=1)
    gauge_reads = []
    batcher.add_sampler(lambda b: gauge_reads.append(b))
    batcher.flush()

    by_namespace = dict(calls)
    assert gauge_reads == [batcher]
    assert by_namespace["AWS/Lambda"] == [{
        "MetricName": "Duration", "Dimensions": [{"Name": "FunctionName", "Value": "f"}], "Unit": "Milliseconds",
        "Timestamp": then, "Values": [12.5], "Counts": [2.0],
    }]
    [latency] = by_namespace["Shop"]
    assert (latency["StorageResolution"], latency["Dimensions"], latency["Timestamp"]) == (1, [], then)

"""Metrics AWS publishes by itself, read back from the engine's CloudWatch with their exact dimensions:
Lambda's Duration, Throttles and ConcurrentExecutions ("Types of metrics for Lambda functions"), SQS's
ApproximateAgeOfOldestMessage ("Available CloudWatch metrics for Amazon SQS"), and the metrics of
Embedded Metric Format lines, from a function's Powertools `Metrics` and from PutLogEvents
("Embedding metrics within logs")."""

from __future__ import annotations

import base64
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from edalab.waiting import wait_for
from support import create_function, create_queue

WINDOW = timedelta(minutes=20)


def points(cloudwatch, namespace: str, metric: str, dimensions: dict, *, start=None, end=None,
           unit: str | None = None) -> list[dict]:
    """Datapoints of one series (exact dimensions), one-second periods, over the last 20 minutes."""
    now = datetime.now(UTC)
    request = dict(
        Namespace=namespace, MetricName=metric,
        Dimensions=[{"Name": name, "Value": value} for name, value in dimensions.items()],
        StartTime=start or now - WINDOW, EndTime=end or now + timedelta(minutes=1), Period=60,
        Statistics=["Sum", "SampleCount", "Maximum", "Minimum"],
    )
    if unit:
        request["Unit"] = unit
    return cloudwatch.get_metric_statistics(**request)["Datapoints"]


def summed(datapoints: list[dict]) -> dict:
    return {
        "Sum": sum(p["Sum"] for p in datapoints),
        "SampleCount": sum(p["SampleCount"] for p in datapoints),
        "Maximum": max((p["Maximum"] for p in datapoints), default=None),
        "Units": {p.get("Unit") for p in datapoints},
    }


def wait_for_samples(cloudwatch, namespace, metric, dimensions, count, **kwargs) -> dict:
    return wait_for(lambda: summed(points(cloudwatch, namespace, metric, dimensions, **kwargs)),
                    what=f"{count} samples of {namespace} {metric} {dimensions}",
                    until=lambda total: total["SampleCount"] >= count, timeout=20)


def _report_duration(log_result: str) -> float:
    tail = base64.b64decode(log_result).decode()
    return float(re.search(r"REPORT RequestId: \S+\tDuration: ([0-9.]+) ms", tail).group(1))


# -- Lambda --------------------------------------------------------------------------------------

@pytest.fixture
def probe(engine, unique):
    """The probe test function, deployed under a unique name and deleted afterwards."""
    lam = engine.client("lambda")
    name = f"metrics-{unique}"
    create_function(lam, name, "probe.py")
    yield name
    lam.delete_function(FunctionName=name)


def test_duration_is_the_report_lines_duration_per_function_and_per_alias(engine, probe):
    lam, cloudwatch = engine.client("lambda"), engine.client("cloudwatch")
    response = lam.invoke(FunctionName=probe, Payload=json.dumps({"sleep": 0.2}), LogType="Tail")
    reported = _report_duration(response["LogResult"])
    assert reported >= 200

    duration = wait_for_samples(cloudwatch, "AWS/Lambda", "Duration", {"FunctionName": probe}, 1, unit="Milliseconds")
    assert duration["SampleCount"] == 1
    assert duration["Sum"] == pytest.approx(reported, abs=0.01)
    assert duration["Units"] == {"Milliseconds"}

    # an alias's invocations also go under Resource "name:alias", and with the version it ran
    version = lam.publish_version(FunctionName=probe)["Version"]
    lam.create_alias(FunctionName=probe, Name="live", FunctionVersion=version)
    response = lam.invoke(FunctionName=probe, Qualifier="live", Payload=json.dumps({"echo": 1}), LogType="Tail")
    reported_alias = _report_duration(response["LogResult"])
    alias = {"FunctionName": probe, "Resource": f"{probe}:live"}
    assert wait_for_samples(cloudwatch, "AWS/Lambda", "Duration", alias, 1)["Sum"] == pytest.approx(reported_alias, abs=0.01)
    assert wait_for_samples(cloudwatch, "AWS/Lambda", "Duration", {**alias, "ExecutedVersion": version}, 1)["SampleCount"] == 1
    assert wait_for_samples(cloudwatch, "AWS/Lambda", "Invocations", alias, 1)["Sum"] == 1
    assert wait_for_samples(cloudwatch, "AWS/Lambda", "Duration", {"FunctionName": probe}, 2)["SampleCount"] == 2
    assert wait_for_samples(cloudwatch, "AWS/Lambda", "Invocations", {"FunctionName": probe}, 2)["Sum"] == 2


def test_an_error_counts_under_the_function_and_across_all_functions(engine, probe):
    lam, cloudwatch = engine.client("lambda"), engine.client("cloudwatch")
    response = lam.invoke(FunctionName=probe, Payload=json.dumps({"fail": "on purpose"}))
    assert response["FunctionError"] == "Unhandled"
    errors = wait_for_samples(cloudwatch, "AWS/Lambda", "Errors", {"FunctionName": probe}, 1)
    assert (errors["Sum"], errors["Units"]) == (1, {"Count"})
    assert wait_for_samples(cloudwatch, "AWS/Lambda", "Errors", {}, 1)["Sum"] >= 1


def test_an_invocation_refused_for_concurrency_is_a_throttle_not_an_invocation(engine, probe):
    lam, cloudwatch = engine.client("lambda"), engine.client("cloudwatch")
    lam.put_function_concurrency(FunctionName=probe, ReservedConcurrentExecutions=0)
    refusals = 0  # the client retries a throttled call, and each attempt is throttled again
    for _ in range(2):
        with pytest.raises(lam.exceptions.TooManyRequestsException) as refused:
            lam.invoke(FunctionName=probe, Payload=json.dumps({"echo": 1}))
        refusals += refused.value.response["ResponseMetadata"]["RetryAttempts"] + 1

    throttles = wait_for_samples(cloudwatch, "AWS/Lambda", "Throttles", {"FunctionName": probe}, refusals)
    assert (throttles["Sum"], throttles["Units"]) == (refusals, {"Count"})
    assert points(cloudwatch, "AWS/Lambda", "Invocations", {"FunctionName": probe}) == []
    assert points(cloudwatch, "AWS/Lambda", "Duration", {"FunctionName": probe}) == []


def test_concurrent_executions_is_the_most_that_ran_at_once(engine, probe):
    lam, cloudwatch = engine.client("lambda"), engine.client("cloudwatch")
    with ThreadPoolExecutor(3) as pool:  # three at once: three environments, each busy 3 s
        list(pool.map(lambda _: lam.invoke(FunctionName=probe, Payload=json.dumps({"sleep": 3})), range(3)))

    concurrency = wait_for(
        lambda: summed(points(cloudwatch, "AWS/Lambda", "ConcurrentExecutions", {"FunctionName": probe})),
        what="ConcurrentExecutions of 3", until=lambda total: total["Maximum"] == 3, timeout=20)
    assert concurrency["Units"] == {"Count"}
    assert summed(points(cloudwatch, "AWS/Lambda", "ConcurrentExecutions", {}))["Maximum"] >= 3


# -- SQS -----------------------------------------------------------------------------------------

def test_age_of_oldest_message_counts_the_oldest_undeleted_message_and_is_zero_when_empty(engine, unique):
    sqs, cloudwatch = engine.client("sqs"), engine.client("cloudwatch")
    busy, empty = f"age-busy-{unique}", f"age-empty-{unique}"
    busy_url, _ = create_queue(sqs, busy)
    empty_url, _ = create_queue(sqs, empty)
    try:
        sent_at = time.monotonic()
        sqs.send_message(QueueUrl=busy_url, MessageBody="oldest")
        # in flight is not deleted: the message still counts
        sqs.receive_message(QueueUrl=busy_url, VisibilityTimeout=60)
        sqs.send_message(QueueUrl=busy_url, MessageBody="newer")

        aged = wait_for(
            lambda: summed(points(cloudwatch, "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": busy})),
            what="an age of 2 s or more", until=lambda total: (total["Maximum"] or 0) >= 2, timeout=30)
        assert aged["Maximum"] <= time.monotonic() - sent_at + 1
        assert aged["Units"] == {"Seconds"}
        idle = wait_for_samples(cloudwatch, "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": empty}, 1)
        assert idle["Maximum"] == 0
    finally:
        sqs.delete_queue(QueueUrl=busy_url)
        sqs.delete_queue(QueueUrl=empty_url)


# -- Embedded Metric Format ------------------------------------------------------------------------

def test_powertools_metrics_of_a_function_become_metrics_with_dimensions_units_and_timestamps(engine, unique):
    lam, cloudwatch, logs = engine.client("lambda"), engine.client("cloudwatch"), engine.client("logs")
    name, namespace = f"emf-{unique}", f"EdaLabTest/{unique}"
    create_function(lam, name, "emf_metrics/app.py",
                    env={"POWERTOOLS_METRICS_NAMESPACE": namespace, "POWERTOOLS_SERVICE_NAME": "orders"})
    dimensions = {"route": "/checkout", "service": "orders"}
    ten_minutes_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    try:
        for event in ({"route": "/checkout", "orders": 2, "latency_ms": 120,
                       "timestamp_ms": int(ten_minutes_ago.timestamp() * 1000)},
                      {"route": "/checkout", "orders": 3, "latency_ms": 80}):
            response = lam.invoke(FunctionName=name, Payload=json.dumps(event))
            assert "FunctionError" not in response

        orders = wait_for_samples(cloudwatch, namespace, "OrdersPlaced", dimensions, 2, unit="Count")
        assert (orders["Sum"], orders["Units"]) == (5, {"Count"})
        # each sample sits at its document's timestamp: the back-dated one ten minutes ago
        back_dated = summed(points(cloudwatch, namespace, "OrdersPlaced", dimensions,
                                   start=ten_minutes_ago - timedelta(minutes=1),
                                   end=ten_minutes_ago + timedelta(minutes=1)))
        assert back_dated["Sum"] == 2
        latency = wait_for_samples(cloudwatch, namespace, "CheckoutLatency", dimensions, 2, unit="Milliseconds")
        assert (latency["Sum"], latency["Maximum"], latency["Units"]) == (200, 120, {"Milliseconds"})

        # the line itself stays in the function's log group
        lines = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        assert any('"OrdersPlaced"' in line["message"] and '"_aws"' in line["message"] for line in lines)
    finally:
        lam.delete_function(FunctionName=name)


def test_put_log_events_emf_gives_every_dimension_set_and_invalid_documents_none(engine, unique):
    cloudwatch, logs = engine.client("cloudwatch"), engine.client("logs")
    group, namespace, refused = f"/edalab/emf-{unique}", f"EdaLabTest/{unique}", f"EdaLabTest/{unique}-refused"
    now_ms = int(time.time() * 1000)

    def document(space: str, unit: str) -> str:
        return json.dumps({
            "_aws": {"Timestamp": now_ms, "CloudWatchMetrics": [{
                "Namespace": space, "Dimensions": [["Operation"], ["Operation", "Cell"]],
                "Metrics": [{"Name": "ProcessingLatency", "Unit": unit, "StorageResolution": 60}],
            }]},
            "Operation": "Aggregator", "Cell": "001", "ProcessingLatency": [100, 200],
        })

    logs.create_log_group(logGroupName=group)
    try:
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
            {"timestamp": now_ms, "message": document(refused, "Parsecs")},  # not a CloudWatch unit
            {"timestamp": now_ms, "message": document(namespace, "Milliseconds")},
        ])
        for dimensions in ({"Operation": "Aggregator"}, {"Operation": "Aggregator", "Cell": "001"}):
            latency = wait_for_samples(cloudwatch, namespace, "ProcessingLatency", dimensions, 2)
            assert (latency["SampleCount"], latency["Sum"], latency["Units"]) == (2, 300, {"Milliseconds"})
        assert cloudwatch.list_metrics(Namespace=refused)["Metrics"] == []
        stored = logs.get_log_events(logGroupName=group, logStreamName="s")["events"]
        assert len(stored) == 2  # both lines are kept, valid or not
    finally:
        logs.delete_log_group(logGroupName=group)

"""SQS event source mappings poll as AWS documents: a held long poll, an immediate stop when
disabled or deleted, and ScalingConfig.MaximumConcurrency.

AWS: "For standard queues, Lambda uses long polling to poll a queue until it becomes active. When
messages are available, Lambda starts processing five batches at a time" and MaximumConcurrency
(2-1000) "limits the number of concurrent instances that the Amazon SQS event source can invoke"
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html). "If you disable the event
source mapping, AWS Lambda stops polling. If you enable again, it will resume polling from the time
it had stopped polling, so you don't lose processing of any records" (UpdateEventSourceMapping).
"""

from __future__ import annotations

import json
import statistics
import threading

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from edalab import settings
from edalab.waiting import wait_for
from support import create_function, create_queue, receive_all


def _reports(sqs, out_url: str, expected: int, timeout: float = 30) -> list[dict]:
    return [json.loads(m["Body"]) for m in receive_all(sqs, out_url, expected=expected, timeout=timeout)]


def _visible_and_hidden(sqs, url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _mapping(lam, name: str, queue_arn: str, **settings) -> str:
    mapping = lam.create_event_source_mapping(FunctionName=name, EventSourceArn=queue_arn, **settings)["UUID"]
    wait_for(lambda: lam.get_event_source_mapping(UUID=mapping)["State"], what="the mapping to be Enabled",
             until=lambda state: state == "Enabled")
    return mapping


def _timed_function(engine, unique: str, sleep_seconds: float = 0) -> tuple[str, str]:
    """batch_timer.py reporting to a queue of its own; returns (function name, report queue URL)."""
    out_url, _ = create_queue(engine.client("sqs"), f"poll-out-{unique}")
    name = f"poll-timer-{unique}"
    create_function(engine.client("lambda"), name, "batch_timer.py",
                    env={"OUTPUT_QUEUE_URL": out_url, "SLEEP_SECONDS": str(sleep_seconds)})
    return name, out_url


def test_an_idle_mapping_receives_a_message_as_soon_as_it_is_sent(engine, unique):
    """A held long poll takes a message the moment it arrives; LocalStack's back-off (0.5-1.5 s
    between empty polls) made a message sent after a quiet moment wait about 0.9 s. Measured from
    SQS's own SentTimestamp to ApproximateFirstReceiveTimestamp, loosely: not a timing goal
    (`make bench` has the figure), only far below any back-off."""
    lam, sqs = engine.client("lambda"), engine.client("sqs")
    name, out_url = _timed_function(engine, unique)
    src_url, src_arn = create_queue(sqs, f"poll-idle-{unique}")
    mapping = _mapping(lam, name, src_arn, BatchSize=1)
    paced = threading.Event()  # never set: its wait paces the sends, so each finds the mapping idle
    try:
        for n in range(6):
            paced.wait(0.7)
            sqs.send_message(QueueUrl=src_url, MessageBody=f"idle-{n}")
        records = [record for report in _reports(sqs, out_url, expected=6) for record in report["records"]]
    finally:
        lam.delete_event_source_mapping(UUID=mapping)
    assert sorted(record["body"] for record in records) == [f"idle-{n}" for n in range(6)]
    waits_ms = [record["first_received_ms"] - record["sent_ms"] for record in records]
    assert statistics.median(waits_ms) < 100, f"ms from send to the mapping's receive: {waits_ms}"


def test_disabling_stops_delivery_at_once_and_enabling_resumes_it_with_nothing_lost(engine, unique):
    lam, sqs = engine.client("lambda"), engine.client("sqs")
    name, out_url = _timed_function(engine, unique)
    # a long visibility timeout: a message a stopped mapping had taken would stay hidden 30 s
    src_url, src_arn = create_queue(sqs, f"poll-switch-{unique}", VisibilityTimeout=30)
    # a batching window of 20 s holds LocalStack's ReceiveMessage open for 20 s; a batch of 1 is full at once
    mapping = _mapping(lam, name, src_arn, BatchSize=1, MaximumBatchingWindowInSeconds=20)
    sqs.send_message(QueueUrl=src_url, MessageBody="before")
    assert [r["body"] for report in _reports(sqs, out_url, 1) for r in report["records"]] == ["before"]

    lam.update_event_source_mapping(UUID=mapping, Enabled=False)
    sqs.send_message(QueueUrl=src_url, MessageBody="while-disabled")
    # not taken by the stopped poller: it stays visible in the queue (nothing in flight)
    wait_for(lambda: _visible_and_hidden(sqs, src_url), what="the message to wait, visible, in the queue",
             timeout=5, until=lambda counts: counts == (1, 0))
    wait_for(lambda: lam.get_event_source_mapping(UUID=mapping)["State"], what="the mapping to be Disabled",
             until=lambda state: state == "Disabled")
    assert _visible_and_hidden(sqs, src_url) == (1, 0)

    lam.update_event_source_mapping(UUID=mapping, Enabled=True)
    delivered = [r for report in _reports(sqs, out_url, 1) for r in report["records"]]
    # delivered once enabled again, and the disabled mapping never received it
    assert [(r["body"], r["receives"]) for r in delivered] == [("while-disabled", 1)]

    lam.delete_event_source_mapping(UUID=mapping)
    sqs.send_message(QueueUrl=src_url, MessageBody="after-delete")
    wait_for(lambda: _visible_and_hidden(sqs, src_url), what="the message to wait, visible, in the queue",
             timeout=5, until=lambda counts: counts == (1, 0))


def test_disabling_returns_records_gathered_for_a_batching_window_to_the_queue(engine, unique):
    """Records gathered while a batching window is open are not sent to a disabled mapping's
    function; they become visible again at once, not after the visibility timeout."""
    lam, sqs = engine.client("lambda"), engine.client("sqs")
    name, out_url = _timed_function(engine, unique)
    src_url, src_arn = create_queue(sqs, f"poll-window-{unique}", VisibilityTimeout=30)
    mapping = _mapping(lam, name, src_arn, BatchSize=5, MaximumBatchingWindowInSeconds=20)
    try:
        sqs.send_message(QueueUrl=src_url, MessageBody="gathered")
        wait_for(lambda: _visible_and_hidden(sqs, src_url), what="the mapping to take the message into its batch",
                 until=lambda counts: counts == (0, 1))
        lam.update_event_source_mapping(UUID=mapping, Enabled=False)
        wait_for(lambda: _visible_and_hidden(sqs, src_url), what="the gathered message to be visible again",
                 timeout=5, until=lambda counts: counts == (1, 0))
    finally:
        lam.delete_event_source_mapping(UUID=mapping)
    assert sqs.receive_message(QueueUrl=out_url, WaitTimeSeconds=0).get("Messages", []) == []


def _most_at_once(reports: list[dict]) -> int:
    edges = sorted([(r["start"], 1) for r in reports] + [(r["end"], -1) for r in reports])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def test_maximum_concurrency_lets_that_many_batches_run_at_once_and_no_more(engine, unique):
    lam, sqs = engine.client("lambda"), engine.client("sqs")
    name, out_url = _timed_function(engine, unique, sleep_seconds=1.0)
    src_url, src_arn = create_queue(sqs, f"poll-scale-{unique}", VisibilityTimeout=30)
    bodies = [f"job-{n}" for n in range(9)]
    sqs.send_message_batch(QueueUrl=src_url, Entries=[{"Id": str(n), "MessageBody": b} for n, b in enumerate(bodies)])
    mapping = _mapping(lam, name, src_arn, BatchSize=1, ScalingConfig={"MaximumConcurrency": 3})
    try:
        reports = _reports(sqs, out_url, expected=len(bodies), timeout=60)
    finally:
        lam.delete_event_source_mapping(UUID=mapping)
    assert sorted(r["body"] for report in reports for r in report["records"]) == bodies
    assert _most_at_once(reports) == 3, [(round(r["start"] % 100, 2), round(r["end"] % 100, 2)) for r in reports]


@pytest.mark.parametrize("concurrency, constraint", [(1, "greater than or equal to 2"), (1001, "less than or equal to 1000")])
def test_maximum_concurrency_outside_2_to_1000_is_refused_as_aws_does(engine, unique, concurrency, constraint):
    # boto3 itself refuses 1 before sending; the engine must refuse it too, as AWS does
    lam = boto3.client("lambda", endpoint_url=engine.endpoint, region_name=settings.REGION,
                       config=botocore.config.Config(parameter_validation=False), **settings.DUMMY_CREDENTIALS)
    name, _ = _timed_function(engine, unique)
    _, src_arn = create_queue(engine.client("sqs"), f"poll-bad-{unique}")
    with pytest.raises(ClientError) as refused:
        created = lam.create_event_source_mapping(FunctionName=name, EventSourceArn=src_arn,
                                                  ScalingConfig={"MaximumConcurrency": concurrency})
        lam.delete_event_source_mapping(UUID=created["UUID"])
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert f"'scalingConfig.maximumConcurrency' failed to satisfy constraint: Member must have value {constraint}" \
        in error["Message"]

"""SQS's per-message CloudWatch metrics read back exactly, whether coalesced (host engine) or not.

The host engine sends these metrics once a second (edalab.plugins.sqs.metric_coalescer) instead of once
per message; the sums, counts, minimums and maximums a learner reads must not change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edalab.plugins.sqs.metric_coalescer import MetricCoalescer
from edalab.waiting import wait_for
from support import create_queue, receive_all


def statistics(cloudwatch, queue: str, metric: str) -> dict:
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/SQS", MetricName=metric, Dimensions=[{"Name": "QueueName", "Value": queue}],
        StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=1), Period=3600,
        Statistics=["Sum", "SampleCount", "Minimum", "Maximum"],
    )["Datapoints"]
    total: dict = {"Sum": 0.0, "SampleCount": 0.0, "Minimum": None, "Maximum": None}
    for point in points:
        total["Sum"] += point["Sum"]
        total["SampleCount"] += point["SampleCount"]
        total["Minimum"] = min(filter(None, [total["Minimum"], point["Minimum"]]), default=point["Minimum"])
        total["Maximum"] = max(filter(None, [total["Maximum"], point["Maximum"]]), default=point["Maximum"])
    return total


def test_sent_received_deleted_and_sizes_read_back_exactly(engine, unique):
    sqs, cloudwatch = engine.client("sqs"), engine.client("cloudwatch")
    name = f"metrics-{unique}"
    url, _ = create_queue(sqs, name)
    bodies = ["x" * n for n in range(1, 26)]  # 25 messages of 1..25 bytes
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    receive_all(sqs, url, expected=len(bodies))  # received and deleted: 25 of each

    sent = wait_for(lambda: statistics(cloudwatch, name, "NumberOfMessagesSent"),
                    what="NumberOfMessagesSent to reach 25", until=lambda s: s["Sum"] >= 25)
    assert sent["Sum"] == 25 and sent["SampleCount"] == 25
    deleted = wait_for(lambda: statistics(cloudwatch, name, "NumberOfMessagesDeleted"),
                       what="NumberOfMessagesDeleted to reach 25", until=lambda s: s["Sum"] >= 25)
    assert deleted["Sum"] == 25
    sizes = wait_for(lambda: statistics(cloudwatch, name, "SentMessageSize"),
                     what="25 SentMessageSize samples", until=lambda s: s["SampleCount"] >= 25)
    assert (sizes["SampleCount"], sizes["Sum"], sizes["Minimum"], sizes["Maximum"]) == (25, sum(range(1, 26)), 1, 25)
    assert statistics(cloudwatch, name, "NumberOfMessagesReceived")["Sum"] == 25


def test_the_coalescer_keeps_every_sample_and_respects_the_api_limits():
    calls = []
    coalescer = MetricCoalescer(send=lambda account, region, data: calls.append((account, region, data)))
    for size in range(400):  # 400 distinct sizes: more than one datum may hold (150 values)
        coalescer.publish("000000000000", "us-east-1", "q", "SentMessageSize", size, "Bytes")
    for _ in range(1000):
        coalescer.publish("000000000000", "us-east-1", "q", "NumberOfMessagesSent")
    coalescer.publish("111111111111", "eu-west-1", "other", "NumberOfEmptyReceives")
    coalescer.flush()

    by_target = {(account, region): data for account, region, data in calls}
    assert set(by_target) == {("000000000000", "us-east-1"), ("111111111111", "eu-west-1")}
    data = by_target[("000000000000", "us-east-1")]
    sizes = [d for d in data if d["MetricName"] == "SentMessageSize"]
    assert all(len(d["Values"]) <= 150 for d in sizes) and len(sizes) == 3
    assert sorted(v for d in sizes for v in d["Values"]) == list(range(400))
    sent = [d for d in data if d["MetricName"] == "NumberOfMessagesSent"]
    assert [(d["Values"], d["Counts"]) for d in sent] == [([1.0], [1000.0])]
    calls.clear()
    coalescer.flush()
    assert calls == []  # nothing pending, nothing sent

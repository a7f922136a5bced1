"""What exists in the engine right now: resource counts and queue depths.

Why this exists: `make status` and the welcome lab both answer "what is up?", and an
instructor checking a room of laptops wants the same numbers from each. Reading is all it
does; it never changes anything.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from edalab import aws


@dataclass
class QueueDepth:
    name: str
    visible: int
    in_flight: int
    is_dead_letter_queue: bool


def _count(fn) -> int:
    try:
        return fn()
    except Exception:  # a service that is not loaded yet counts as empty
        return 0


def resource_counts(endpoint: str | None = None) -> dict[str, int]:
    def c(service):
        return aws.client(service, endpoint)

    counters = {
        "buckets": lambda: len(c("s3").list_buckets()["Buckets"]),
        "queues": lambda: len(c("sqs").list_queues().get("QueueUrls", [])),
        "topics": lambda: len(c("sns").list_topics()["Topics"]),
        "functions": lambda: len(c("lambda").list_functions()["Functions"]),
        "tables": lambda: len(c("dynamodb").list_tables()["TableNames"]),
        "event rules": lambda: len(c("events").list_rules()["Rules"]),
        "REST APIs": lambda: len(c("apigateway").get_rest_apis()["items"]),
        "alarms": lambda: len(c("cloudwatch").describe_alarms()["MetricAlarms"]),
        "stacks": lambda: len(
            [s for s in c("cloudformation").describe_stacks()["Stacks"] if s["StackStatus"] != "DELETE_COMPLETE"]
        ),
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_count, fn) for name, fn in counters.items()}
    return {name: future.result() for name, future in futures.items()}


def queue_depths(endpoint: str | None = None) -> list[QueueDepth]:
    sqs = aws.client("sqs", endpoint)
    urls = sqs.list_queues().get("QueueUrls", [])
    attributes = {
        url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"] for url in urls
    }
    dead_letter_arns = {
        json.loads(a["RedrivePolicy"])["deadLetterTargetArn"] for a in attributes.values() if "RedrivePolicy" in a
    }
    return [
        QueueDepth(
            name=url.rsplit("/", 1)[-1],
            visible=int(a.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(a.get("ApproximateNumberOfMessagesNotVisible", 0)),
            is_dead_letter_queue=a.get("QueueArn") in dead_letter_arns,
        )
        for url, a in sorted(attributes.items())
    ]


def snapshot(endpoint: str | None = None) -> dict:
    """Everything a learner could add or change, by name: resources of every kind, the keys
    in each bucket, the item count of each table and the depth of each queue. Two equal
    snapshots mean the same environment (used to prove `make reset` restores the baseline)."""

    def c(service):
        return aws.client(service, endpoint)

    s3, ddb = c("s3"), c("dynamodb")
    buckets = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
    tables = sorted(ddb.list_tables()["TableNames"])
    return {
        "buckets": {b: sorted(o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", [])) for b in buckets},
        "tables": {t: ddb.scan(TableName=t, Select="COUNT")["Count"] for t in tables},
        "queues": {q.name: q.visible + q.in_flight for q in queue_depths(endpoint)},
        "topics": sorted(t["TopicArn"] for t in c("sns").list_topics()["Topics"]),
        "subscriptions": sorted(s["Endpoint"] for s in c("sns").list_subscriptions()["Subscriptions"]),
        "functions": sorted(f["FunctionName"] for f in c("lambda").list_functions()["Functions"]),
        "event source mappings": sorted(
            m["EventSourceArn"] for m in c("lambda").list_event_source_mappings()["EventSourceMappings"]
        ),
        "event rules": sorted(r["Name"] for r in c("events").list_rules()["Rules"]),
        "REST APIs": sorted(a["name"] for a in c("apigateway").get_rest_apis()["items"]),
        "alarms": sorted(a["AlarmName"] for a in c("cloudwatch").describe_alarms()["MetricAlarms"]),
        "stacks": sorted(s["StackName"] for s in c("cloudformation").describe_stacks()["Stacks"]
                         if s["StackStatus"] != "DELETE_COMPLETE"),
    }

"""What the Queues pages show: every queue's depth and wiring, one queue's settings and messages.

Why this exists: the page modules stay thin; reading the engine (through the console's
`EngineView`, its shared cache included) and shaping the answers into what a learner reads
lives here, testable apart from the routes.

Age of the oldest message: read from CloudWatch (`AWS/SQS ApproximateAgeOfOldestMessage`, which
the engine publishes every 5 s per queue), one `GetMetricData` call for every queue at once.
Computing it from the peeked messages' `SentTimestamp` would mean reading every message body of
every queue on each poll, and would be wrong where AWS's definition differs from "oldest sent":
a message moved to a dead-letter queue keeps its original SentTimestamp but counts from its
arrival there, and a message received three times or more no longer counts as the oldest. The
price: the figure is up to 5 s behind, and "—" when the engine does not publish it.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from edalab.queue_peek import QueueMessage, messages_from

AGE_METRIC = "ApproximateAgeOfOldestMessage"
AGE_TTL = 5.0  # the engine publishes the age every 5 s; asking more often gives nothing new


class UnknownQueue(LookupError):
    """No queue of that name in the engine."""


@dataclass
class QueueRow:
    name: str
    url: str
    arn: str
    visible: int
    in_flight: int
    delayed: int
    fifo: bool
    dead_letter_queue: str | None = None  # name of this queue's DLQ (RedrivePolicy.deadLetterTargetArn)
    max_receives: int | None = None  # RedrivePolicy.maxReceiveCount
    dead_letter_of: list[str] = field(default_factory=list)  # queues whose DLQ this one is
    oldest_age: float | None = None  # seconds, from CloudWatch

    @property
    def is_dead_letter_queue(self) -> bool:
        return bool(self.dead_letter_of)

    @property
    def depth(self) -> int:
        """Every message on the queue: visible, in flight and delayed."""
        return self.visible + self.in_flight + self.delayed

    @property
    def alarming(self) -> bool:
        """A dead-letter queue holding anything: something failed and waits for a person."""
        return self.is_dead_letter_queue and self.depth > 0


def name_of(arn: str | None) -> str | None:
    """`arn:aws:sqs:region:account:name` -> `name`."""
    return arn.rsplit(":", 1)[-1] if arn else None


def redrive_policy(attributes: dict) -> dict:
    try:
        policy = json.loads(attributes.get("RedrivePolicy") or "{}")
    except ValueError:
        return {}
    return policy if isinstance(policy, dict) else {}


def _all_attributes(view) -> dict[str, dict]:
    """Every queue's attributes by URL (one ListQueues, one GetQueueAttributes per queue)."""
    sqs = view.client("sqs")
    urls = [url for result in sqs.get_paginator("list_queues").paginate() for url in result.get("QueueUrls", [])]

    def attributes(url: str) -> dict | None:
        try:
            return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        except ClientError:  # deleted between the two calls
            return None
    with ThreadPoolExecutor(max_workers=4) as pool:  # same engine work, a quarter of the wait
        answers = list(pool.map(attributes, urls))
    return {url: answer for url, answer in zip(urls, answers) if answer is not None}


def shape_rows(attributes_by_url: dict[str, dict], ages: dict[str, float]) -> list[QueueRow]:
    """Rows sorted by name, each knowing its DLQ and which queues it is the DLQ of."""
    rows = {}
    for url, attributes in attributes_by_url.items():
        name = url.rstrip("/").rsplit("/", 1)[-1]
        policy = redrive_policy(attributes)
        max_receives = policy.get("maxReceiveCount")
        rows[name] = QueueRow(
            name=name, url=url, arn=attributes.get("QueueArn", ""),
            visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
            fifo=attributes.get("FifoQueue") == "true" or name.endswith(".fifo"),
            dead_letter_queue=name_of(policy.get("deadLetterTargetArn")),
            max_receives=int(max_receives) if max_receives is not None else None,
            oldest_age=ages.get(name),
        )
    for row in rows.values():
        if row.dead_letter_queue in rows:
            rows[row.dead_letter_queue].dead_letter_of.append(row.name)
    return [rows[name] for name in sorted(rows)]


def oldest_ages(view, names: list[str]) -> dict[str, float]:
    """The newest `ApproximateAgeOfOldestMessage` of each queue (seconds), from one GetMetricData."""
    def read() -> dict[str, float]:
        if not names:
            return {}
        now = datetime.now(UTC)
        queries = [{"Id": f"q{i}", "Label": name, "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": "AWS/SQS", "MetricName": AGE_METRIC,
                       "Dimensions": [{"Name": "QueueName", "Value": name}]},
            "Period": 5, "Stat": "Maximum"}} for i, name in enumerate(names)]
        ages: dict[str, float] = {}
        cloudwatch = view.client("cloudwatch")
        for start in range(0, len(queries), 500):  # GetMetricData takes up to 500 queries
            try:
                answer = cloudwatch.get_metric_data(MetricDataQueries=queries[start:start + 500],
                                                    StartTime=now - timedelta(seconds=30), EndTime=now + timedelta(seconds=5),
                                                    ScanBy="TimestampDescending")
            except ClientError:
                return ages
            for result in answer["MetricDataResults"]:
                if result.get("Values"):
                    newest = max(zip(result["Timestamps"], result["Values"]))
                    ages[names[int(result["Id"][1:])]] = newest[1]
        return ages
    return view.cached(("queues", "ages", tuple(names)), read, ttl=AGE_TTL)


def queue_rows(view) -> list[QueueRow]:
    """Every queue with its depth, age of the oldest message and dead-letter wiring (cached)."""
    attributes = view.cached(("queues", "attributes"), lambda: _all_attributes(view))
    names = sorted(url.rstrip("/").rsplit("/", 1)[-1] for url in attributes)
    return shape_rows(attributes, oldest_ages(view, names))


def find_queue(view, name: str) -> QueueRow:
    """The row of the queue called `name`, or UnknownQueue. A name the cached list does not know
    is looked up afresh once (the queue may have been created within the last second)."""
    for fresh in (False, True):
        if fresh:
            view.cache.forget(("queues", "attributes"))
        for row in queue_rows(view):
            if row.name == name:
                return row
    raise UnknownQueue(name)


def queue_attributes(view, row: QueueRow) -> dict[str, str]:
    return view.cached(("queues", "attributes"), lambda: _all_attributes(view)).get(row.url, {})


SECONDS = {"VisibilityTimeout", "DelaySeconds", "ReceiveMessageWaitTimeSeconds", "MessageRetentionPeriod",
           "KmsDataKeyReusePeriodSeconds"}
BYTES = {"MaximumMessageSize"}
TIMESTAMPS = {"CreatedTimestamp", "LastModifiedTimestamp"}
JSON_VALUES = {"RedrivePolicy", "RedriveAllowPolicy", "Policy"}
HIDDEN = {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"}


def readable_attributes(attributes: dict[str, str]) -> list[tuple[str, str, bool]]:
    """(name, value in plain words with its unit, is JSON) for every setting, sorted by name."""
    shaped = []
    for name in sorted(attributes):
        value = attributes[name]
        if name in HIDDEN:
            continue
        if name in SECONDS and value.isdigit():
            text = f"{int(value):,} s" + (f" ({_duration(int(value))})" if int(value) >= 120 else "")
        elif name in BYTES and value.isdigit():
            text = f"{int(value):,} bytes ({int(value) // 1024:,} KiB)"
        elif name in TIMESTAMPS and value.isdigit():
            text = datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        else:
            text = value
        shaped.append((name, text, name in JSON_VALUES))
    return shaped


def _duration(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400} days"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds / 60:g} min"


@dataclass
class PeekedMessage:
    message_id: str
    body: str
    receives: int
    sent: datetime | None
    in_flight: bool
    delayed: bool
    body_is_json: bool
    attributes: dict[str, str]  # system attributes (SentTimestamp, SenderId, …)
    message_attributes: dict[str, dict]  # the sender's: name -> {DataType, StringValue | BinaryValue}
    group_id: str | None = None
    first_received: datetime | None = None
    source_queue: str | None = None  # the queue a dead-lettered message came from


def shape_message(message: QueueMessage) -> PeekedMessage:
    attributes = message.attributes
    sent, first = attributes.get("SentTimestamp"), attributes.get("ApproximateFirstReceiveTimestamp", "0")
    try:
        json.loads(message.body)
        body_is_json = True
    except ValueError:
        body_is_json = False
    return PeekedMessage(
        message_id=message.message_id, body=message.body, receives=message.receives,
        sent=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent and sent.isdigit() else None,
        in_flight=attributes.get("IsVisible") == "false", delayed=attributes.get("IsDelayed") == "true",
        body_is_json=body_is_json,
        attributes={k: v for k, v in attributes.items() if k not in ("IsVisible", "IsDelayed")},
        message_attributes=message.message_attributes,
        group_id=attributes.get("MessageGroupId"),
        first_received=datetime.fromtimestamp(int(first) / 1000, UTC) if first.isdigit() and int(first) else None,
        source_queue=name_of(attributes.get("DeadLetterQueueSourceArn")),
    )


PEEK_LIMIT = 50  # messages shown on a queue's page (the count above says how many there are)


def peek(view, row: QueueRow) -> list[PeekedMessage]:
    """Every message on the queue, visible, in flight or delayed, oldest first, read through
    LocalStack's `/_aws/sqs/messages` without receiving any (no receive count, no visibility change)."""
    def read() -> list[PeekedMessage]:
        reply = view.developer("/_aws/sqs/messages",
                               {"QueueUrl": row.url, "ShowInvisible": "true", "ShowDelayed": "true"})
        shaped = [shape_message(message) for message in messages_from(reply or {})]
        return sorted(shaped, key=lambda m: m.sent or datetime.min.replace(tzinfo=UTC))
    return view.cached(("queues", "peek", row.name), read)


def move_tasks(view, row: QueueRow) -> list[dict]:
    """This DLQ's most recent redrive tasks (ListMessageMoveTasks), newest first."""
    if not row.is_dead_letter_queue:
        return []

    def read() -> list[dict]:
        try:
            return view.client("sqs").list_message_move_tasks(SourceArn=row.arn, MaxResults=3)["Results"]
        except ClientError:
            return []
    return view.cached(("queues", "moves", row.name), read)

"""ApproximateAgeOfOldestMessage computed from LocalStack's own queue models as AWS defines it
("Available CloudWatch metrics for Amazon SQS"; edalab.plugins.sqs.age_metric; no engine needed)."""

from __future__ import annotations

import time

from localstack.services.sqs.models import FifoQueue, StandardQueue

from edalab.plugins.sqs.age_metric import _undeleted_messages, oldest_message_age

ACCOUNT, REGION = "000000000000", "us-east-1"


def _send(queue, body: str, sent_seconds_ago: float, **kwargs):
    queue.put({"MessageId": body, "Body": body, "MD5OfBody": "-"}, **kwargs)
    [message] = [m for m in _undeleted_messages(queue) if m.message_id == body]
    message.created -= sent_seconds_ago  # as if it had been sent that long ago
    return message


def _age(queue) -> int:
    return oldest_message_age(_undeleted_messages(queue), time.time())


def test_an_empty_queue_reports_zero():
    assert _age(StandardQueue("empty", REGION, ACCOUNT)) == 0


def test_the_oldest_undeleted_message_counts_whether_visible_in_flight_or_delayed():
    queue = StandardQueue("q", REGION, ACCOUNT)
    _send(queue, "oldest", 100)
    _send(queue, "newer", 10)
    assert _age(queue) == 100
    [received] = queue.receive(num_messages=1).successful  # in flight, not deleted
    assert received.message_id == "oldest" and _age(queue) == 100
    queue.remove(next(iter(received.receipt_handles)))  # deleted: the next oldest counts
    assert _age(queue) == 10
    _send(queue, "delayed", 50, delay_seconds=900)
    assert _age(queue) == 50


def test_a_message_received_three_times_stands_behind_the_others():
    queue = StandardQueue("poison", REGION, ACCOUNT)
    poison = _send(queue, "poison", 300)
    _send(queue, "fresh", 20)
    poison.receive_count = 3  # received three times and never deleted
    assert _age(queue) == 20
    assert oldest_message_age([poison], time.time()) == 300  # alone, it is still the oldest


def test_fifo_queues_count_every_message_group():
    queue = FifoQueue("q.fifo", REGION, ACCOUNT, attributes={"FifoQueue": "true"})
    _send(queue, "a", 5, message_group_id="one", message_deduplication_id="a")
    _send(queue, "b", 40, message_group_id="two", message_deduplication_id="b")
    assert _age(queue) == 40

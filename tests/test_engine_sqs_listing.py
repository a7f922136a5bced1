"""SQS's developer listing shows every message a standard queue holds, also while a receive takes it.

A message that was never deleted is on its queue, visible or in flight, at every moment: that is
what checks and the console conclude from a listing (`edalab.queue_peek`). LocalStack's listing
misses the messages a receive has popped from the visible heap and not yet put in flight (the
stock test below shows it: the moment is held open by pausing the receive right after its pop);
with `edalab.plugins.sqs.consistent_listing` they are listed, once, with those in flight.

These tests drive LocalStack's queue and listing in this process, where the moment can be held
open; each installs the plugin's patches itself and takes them off again.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from localstack.services.sqs import developer_api, models
from localstack.services.sqs import queue as sqs_queue

from edalab.plugins.sqs import consistent_listing


@pytest.fixture
def patched(monkeypatch):
    """The plugin's three patches on LocalStack's classes, undone after the test."""
    for owner, name in ((sqs_queue.InterruptiblePriorityQueue, "_get"), (models.StandardQueue, "receive"),
                        (developer_api.SqsDeveloperApi, "_collect_messages")):
        monkeypatch.setattr(owner, name, getattr(owner, name))  # monkeypatch puts this original back
    consistent_listing.track_pops(sqs_queue)
    consistent_listing.forget_pops_when_received(models)
    consistent_listing.list_under_locks(developer_api)


def new_queue(*bodies: str, **attributes) -> tuple[models.StandardQueue, list]:
    queue = models.StandardQueue(f"listing-{uuid.uuid4().hex[:8]}", "us-east-1", "000000000000", attributes)
    messages = [queue.put(message={"MessageId": str(uuid.uuid4()), "Body": body, "MD5OfBody": "-",
                                   "Attributes": {}, "MessageAttributes": {}}) for body in bodies]
    return queue, messages


def listing(queue) -> list[dict]:
    return developer_api.SqsDeveloperApi()._collect_messages(queue, show_invisible=True)


class PausedReceive:
    """`queue.receive(10)` in a thread, held right after it popped `message` from the visible heap
    (before it marks the message received and puts it in flight), until `finish()`."""

    def __init__(self, queue, message):
        self.reached, self.release, self.result = threading.Event(), threading.Event(), {}
        mark_received = message.update_visibility_timeout

        def paused(timeout):
            self.reached.set()
            self.release.wait(10)
            return mark_received(timeout)

        message.update_visibility_timeout = paused
        self.thread = threading.Thread(target=lambda: self.result.update(received=queue.receive(num_messages=10)))
        self.thread.start()
        assert self.reached.wait(10), "the receive never popped the message"

    def finish(self):
        self.release.set()
        self.thread.join(10)
        return self.result["received"]


def test_stock_listing_misses_a_message_a_receive_is_taking():
    queue, (message,) = new_queue("taken")
    receive = PausedReceive(queue, message)
    try:
        assert listing(queue) == []  # the fault: the message is on the queue, and not listed
    finally:
        receive.finish()


def test_a_message_a_receive_is_taking_is_listed_once_as_in_flight(patched):
    queue, messages = new_queue("first", "second", "third")
    receive = PausedReceive(queue, messages[0])  # pops the first (the oldest), then pauses
    try:
        assert sorted(m["Body"] for m in listing(queue)) == ["first", "second", "third"]  # each once
    finally:
        received = receive.finish()
    assert len(received.successful) == 3
    after = listing(queue)
    assert sorted(m["Body"] for m in after) == ["first", "second", "third"]  # in flight now, each once
    assert {m["Attributes"]["IsVisible"] for m in after} == {"false"}
    assert consistent_listing.in_transit(queue.visible) == []  # nothing kept once the receive returned


def test_a_message_leaving_for_the_dead_letter_queue_is_not_kept_listed(patched):
    queue, (message,) = new_queue("poison", RedrivePolicy='{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq", "maxReceiveCount": 1}')
    message.receive_count = 1  # received once already: the next receive hands it over for the DLQ
    received = queue.receive(num_messages=10)
    assert received.dead_letter_messages == [message] and received.successful == []
    assert listing(queue) == [] and consistent_listing.in_transit(queue.visible) == []


def test_a_deleted_message_is_not_listed_while_a_receive_holds_it(patched):
    queue, (message,) = new_queue("gone")
    receive = PausedReceive(queue, message)
    try:
        message.deleted = True  # deleted with an old receipt handle while the receive held it
        assert listing(queue) == []
    finally:
        receive.finish()


def test_a_listing_without_in_flight_messages_is_left_to_localstack(patched):
    queue, (message,) = new_queue("taken")
    receive = PausedReceive(queue, message)
    try:
        assert developer_api.SqsDeveloperApi()._collect_messages(queue, show_invisible=False) == []
    finally:
        receive.finish()

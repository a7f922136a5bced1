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
from importlib.metadata import entry_points

import pytest
from localstack.services.sqs import developer_api, models
from localstack.services.sqs import queue as sqs_queue

from edalab.plugins.sqs import consistent_listing


PATCHED = ((sqs_queue.InterruptiblePriorityQueue, "_get"), (models.StandardQueue, "receive"),
           (developer_api.SqsDeveloperApi, "_collect_messages"))


@pytest.fixture
def patched(monkeypatch):
    """The plugin's three patches on LocalStack's classes, undone after the test."""
    for owner, name in PATCHED:
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
    """`queue.receive(10, visibility_timeout)` in a thread, held right after it popped `message` from the visible heap
    (before it marks the message received and puts it in flight), until `finish()`."""

    def __init__(self, queue, message, visibility_timeout: int | None = None):
        self.reached, self.release, self.result = threading.Event(), threading.Event(), {}
        mark_received = message.update_visibility_timeout

        def paused(timeout):
            self.reached.set()
            self.release.wait(10)
            return mark_received(timeout)

        message.update_visibility_timeout = paused
        self.thread = threading.Thread(target=lambda: self.result.update(
            received=queue.receive(num_messages=10, visibility_timeout=visibility_timeout)))
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
        during = listing(queue)
        assert sorted(m["Body"] for m in during) == ["first", "second", "third"]  # each once
        # the one being received is not visible to another receive; the two on the heap are
        assert {m["Body"]: m["Attributes"]["IsVisible"] for m in during} == {
            "first": "false", "second": "true", "third": "true"}
    finally:
        received = receive.finish()
    assert len(received.successful) == 3
    after = listing(queue)
    assert sorted(m["Body"] for m in after) == ["first", "second", "third"]  # in flight now, each once
    assert {m["Attributes"]["IsVisible"] for m in after} == {"false"}
    assert consistent_listing.in_transit(queue.visible) == []  # nothing kept once the receive returned


class PausedPutBack:
    """`queue.receive(1, visibility_timeout=0)` in a thread, held right after it put its message
    back on the visible heap (a receive with visibility 0 does) and before it returns, until `finish()`."""

    def __init__(self, queue):
        heap, self.reached, self.release = queue.visible, threading.Event(), threading.Event()
        put_back = heap.put_nowait

        def put_back_then_pause(message):
            put_back(message)
            del heap.put_nowait  # later puts are LocalStack's own again
            self.reached.set()
            self.release.wait(10)

        heap.put_nowait = put_back_then_pause
        self.thread = threading.Thread(target=lambda: queue.receive(num_messages=1, visibility_timeout=0))
        self.thread.start()
        assert self.reached.wait(10), "the receive never put its message back"

    def finish(self):
        self.release.set()
        self.thread.join(10)


def test_a_message_put_back_with_visibility_0_is_listed_once(patched):
    queue, _ = new_queue("back")
    receive = PausedPutBack(queue)
    try:
        during = listing(queue)  # on the heap again, and still recorded as taken by the receive
        assert [(m["Body"], m["Attributes"]["IsVisible"]) for m in during] == [("back", "true")]
    finally:
        receive.finish()


def test_a_message_two_receives_took_stays_listed_until_the_second_returns(patched):
    queue, (message,) = new_queue("again")
    first = PausedPutBack(queue)  # took it, put it back with visibility 0, has not returned
    second = PausedReceive(queue, message)  # takes it again, pauses before putting it in flight
    try:
        first.finish()  # the first receive returns and forgets its own take, not the second's
        assert [m["Body"] for m in listing(queue)] == ["again"]
    finally:
        received = second.finish()
    assert received.successful == [message]
    assert consistent_listing.in_transit(queue.visible) == []


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


def test_the_registered_start_hook_puts_the_three_patches_on_localstacks_own_modules(monkeypatch):
    """The wiring the tests above take for granted: the engine runs the hook registered under
    LocalStack's start-hook entry point, and its module names reach the functions it fixes."""
    monkeypatch.delenv("EDALAB_STOCK_SERVICES", raising=False)
    for owner, name in PATCHED:
        monkeypatch.setattr(owner, name, getattr(owner, name))
    stock = {name: getattr(owner, name) for owner, name in PATCHED}
    (hook,) = [point.load() for point in entry_points(group="localstack.hooks.on_infra_start")
               if point.name == "edalab_sqs_consistent_listing"]
    hook()  # the modules are imported already here, so each patch runs at once
    replaced = {name: getattr(owner, name) is not stock[name] for owner, name in PATCHED}
    assert replaced == {"_get": True, "receive": True, "_collect_messages": True}

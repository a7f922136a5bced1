"""SQS's developer listing shows every message of a standard queue, also while a receive takes some.

Why this exists: checks, tests and the console look into a queue without receiving from it
through LocalStack's developer endpoint (`/_aws/sqs/messages?ShowInvisible=true`, read by
`edalab.queue_peek`). They conclude from it, for instance, that a message has left the queue.
For a standard queue, LocalStack's listing (`SqsDeveloperApi._collect_messages`) reads the
messages in flight and then the visible ones, with no lock. Meanwhile `StandardQueue.receive`
pops messages from the visible heap one at a time, and puts them in flight only after it has
collected its batch. A receive between the two reads, or one still collecting its batch, makes
the listing miss messages that were never deleted. A lab 06 near miss failed at the wrong step
that way under load: the check saw the queue empty while the batch was being received again.

This hook makes the listing see them:
- a receive records, per visible heap, the messages it has popped and not yet returned (under the
  heap's own lock, in the same step as the pop; only while a receive runs, so nothing else that
  pops is affected), counted per message, as two receives may hold the same one (the first put
  it back with visibility 0);
- the listing copies what it reads (in flight, visible, delayed, and the recorded messages neither
  in flight nor back on the heap yet, listed as not visible) while it holds the queue's lock (no
  requeue or delayed message moves meanwhile) and the heap's lock (no pop meanwhile), then
  serializes the copy as LocalStack does.

Lock order is the queue's, then the heap's, as LocalStack's requeue takes them; a receive takes
only the heap's. Nothing is added to the queue objects, so the baseline snapshot pickles them as
before. FIFO queues, and listings without ShowInvisible, are left to LocalStack.
"""

from __future__ import annotations

import logging
import threading
import weakref
from types import SimpleNamespace

from localstack.runtime import hooks

from edalab.plugins import uses_stock
from edalab.plugins.on_import import when_imported

LOG = logging.getLogger(__name__)

# visible heap -> {message: how many running receives have popped it and not yet returned}
# (a count: a receive with visibility 0 puts its message back, and another may pop it before the
# first returns)
_in_transit: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_receiving = threading.local()  # `popped`: [(heap, message)] of the receive running in this thread


def in_transit(heap) -> list:
    """The messages receives have popped from `heap` and hold now (call with the heap's lock held)."""
    return list(_in_transit.get(heap, ()))


def _remember(heap, message) -> None:
    """Called under the heap's lock, in the step that popped `message`."""
    counts = _in_transit.setdefault(heap, {})
    counts[message] = counts.get(message, 0) + 1


def _forget(heap, message) -> None:
    with heap.mutex:
        counts = _in_transit.get(heap)
        if counts is None or message not in counts:
            return
        counts[message] -= 1
        if counts[message] <= 0:
            del counts[message]


def track_pops(queue_module) -> None:
    """`InterruptiblePriorityQueue._get` (called by `get` under the heap's lock) records what it
    pops while a receive runs in the calling thread."""
    heap_class = queue_module.InterruptiblePriorityQueue
    pop = heap_class._get

    def _get(self):
        message = pop(self)
        popped = getattr(_receiving, "popped", None)
        if popped is not None:
            _remember(self, message)
            popped.append((self, message))
        return message

    heap_class._get = _get


def forget_pops_when_received(models) -> None:
    """`StandardQueue.receive` forgets its popped messages once it returns: by then each is in
    flight, back in the heap (visibility 0) or handed over for the dead-letter queue."""
    queue_class = models.StandardQueue
    receive = queue_class.receive

    def receive_recording_pops(self, *args, **kwargs):
        _receiving.popped = []
        try:
            return receive(self, *args, **kwargs)
        finally:
            popped, _receiving.popped = _receiving.popped, None
            for heap, message in popped:
                _forget(heap, message)

    queue_class.receive = receive_recording_pops


def list_under_locks(developer_api) -> None:
    """`SqsDeveloperApi._collect_messages` lists a standard queue from copies taken under its locks,
    popped messages included with those in flight (each is about to be)."""
    api_class = developer_api.SqsDeveloperApi
    collect = api_class._collect_messages
    standard_queue = developer_api.StandardQueue

    def _collect_messages(self, queue, show_invisible: bool = False, show_delayed: bool = False):
        if not show_invisible or not isinstance(queue, standard_queue):
            return collect(self, queue, show_invisible=show_invisible, show_delayed=show_delayed)
        copy = object.__new__(type(queue))  # what LocalStack's listing reads, copied; serialized outside the locks
        heap = queue.visible
        with queue.mutex, heap.mutex:
            on_heap = set(heap.queue)  # a receive with visibility 0 has put its message back already
            taken = [message for message in in_transit(heap)
                     if message not in queue.inflight and message not in on_heap and not message.deleted]
            copy.inflight = dict.fromkeys([*queue.inflight, *taken])
            copy.visible = SimpleNamespace(queue=list(heap.queue))
            copy.delayed = set(queue.delayed)
        listed = collect(self, copy, show_invisible=show_invisible, show_delayed=show_delayed)
        taken_ids = {message.message_id for message in taken}
        for message in listed:  # being received: not visible to another receive, as in flight
            if message.get("MessageId") in taken_ids:
                message["Attributes"]["IsVisible"] = "false"
        return listed

    api_class._collect_messages = _collect_messages


@hooks.on_infra_start()
def list_messages_being_received_too():
    """Installs the three patches as each module is first imported (not with EDALAB_STOCK_SERVICES=sqs)."""
    if uses_stock("sqs"):
        return
    when_imported("localstack.services.sqs.queue", track_pops)
    when_imported("localstack.services.sqs.models", forget_pops_when_received)
    when_imported("localstack.services.sqs.developer_api", list_under_locks)
    LOG.info("edalab: SQS's developer listing includes messages a receive is taking")

"""Waits inside the engine for an SQS queue to hold a message, as a long poll does, and can be woken.

Why this exists: on AWS an event source mapping long-polls its queue (WaitTimeSeconds 20), so a
message reaches the function a few milliseconds after it is sent, and an idle mapping costs
nothing. LocalStack's poller short-polls when the batching window is 0 and backs off 0.5-1.5 s
between empty polls (a message waits ~0.9 s); with a window it holds a real ReceiveMessage open,
which nothing can end, so it outlives `Enabled=false` and delivers a message sent after the
mapping was disabled.

The poller runs in the engine's own process, beside the queue. So it waits where a long poll
waits, on the queue's own "not empty" condition (the one SQS's receive blocks on), and only then
asks SQS for the messages with an ordinary ReceiveMessage: receive counts, visibility, dead-letter
moves and metrics stay exactly SQS's. `interrupt()` wakes the wait at once, which a ReceiveMessage
held open inside the gateway could never be.
"""

from __future__ import annotations

import threading
import time

from localstack.services.sqs.models import sqs_stores
from localstack.utils.aws.arns import parse_arn


class QueueWaiter:
    """Waits until the queue named by an ARN has a message to receive (or the time is up)."""

    def __init__(self, queue_arn: str) -> None:
        parsed = parse_arn(queue_arn)
        self._account, self._region, self._name = parsed["account"], parsed["region"], parsed["resource"]
        self._condition_waited_on: threading.Condition | None = None

    def _ready_list(self):
        """What SQS's receive takes from: visible messages, or a FIFO queue's receivable groups."""
        queue = sqs_stores[self._account][self._region].queues.get(self._name)
        if queue is None:
            return None
        return getattr(queue, "message_group_queue", None) or queue.visible

    def wait(self, timeout: float, stopped: threading.Event) -> bool:
        """True as soon as a message is there to receive; False when `timeout` passes or `stopped` is
        set. A queue that no longer exists answers True at once, so the ReceiveMessage that follows
        reports it (and the mapping backs off as on any error)."""
        ready_list = self._ready_list()
        if ready_list is None:
            return True
        condition = ready_list.not_empty
        deadline = time.monotonic() + timeout
        with condition:
            self._condition_waited_on = condition
            try:
                while not stopped.is_set():
                    if ready_list._qsize() and not ready_list.is_shutdown:
                        return True
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    condition.wait(remaining)
                if ready_list._qsize():
                    condition.notify()  # the wake-up this stopped wait took belongs to another receiver
                return False
            finally:
                self._condition_waited_on = None

    def interrupt(self) -> None:
        """Wakes a wait in progress (its caller has set `stopped` first)."""
        condition = self._condition_waited_on
        if condition is not None:
            with condition:
                condition.notify_all()

"""How many batches of one event source mapping may be with its function at once.

Why this exists: AWS processes an SQS queue's batches concurrently: "Lambda starts processing five
batches at a time with five concurrent invocations", scaling up while messages remain, and
`ScalingConfig.MaximumConcurrency` (2-1000) caps it
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html). LocalStack's poller hands
one batch at a time to the function. A poller takes a slot before it receives a batch and gives it
back when the function has answered, so it never holds messages hidden that it cannot yet deliver.
A threading.Semaphore would do, but its wait cannot be woken when the mapping is disabled.
"""

from __future__ import annotations

import threading


class BatchSlots:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._running = 0
        self._changed = threading.Condition()

    def acquire(self, stopped: threading.Event) -> bool:
        """Waits for a free slot; False (and no slot) when `stopped` is set first."""
        with self._changed:
            while self._running >= self.limit and not stopped.is_set():
                self._changed.wait()
            if stopped.is_set():
                return False
            self._running += 1
            return True

    def release(self) -> None:
        with self._changed:
            self._running -= 1
            self._changed.notify_all()

    def interrupt(self) -> None:
        """Wakes a waiting `acquire` (its caller has set `stopped` first)."""
        with self._changed:
            self._changed.notify_all()

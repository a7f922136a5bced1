"""An SQS event source mapping's poller as AWS runs it: a held long poll, batching windows,
concurrent batches, and a stop that takes effect at once.

Why this exists (what AWS documents, what LocalStack's `SqsPoller` does instead):
- AWS long-polls the queue, so an idle mapping delivers a message within milliseconds and costs
  nothing while idle. LocalStack short-polls when the batching window is 0 and backs off
  0.5-1.5 s between empty polls. Here the poller waits on the queue itself (`esm_queue_wait`) for
  up to 20 s, the longest long poll, then receives; every wait that ends empty makes one empty
  ReceiveMessage, as an empty long poll does on AWS.
- `MaximumBatchingWindowInSeconds`: Lambda gathers records until the window has passed, the batch
  is full, or the payload would pass 6 MB. The window starts with the first record, so a message
  on an idle queue waits at most the window. LocalStack instead holds one ReceiveMessage open for
  the window, which a disabled mapping cannot end.
- Disabling or deleting the mapping "stops polling" and, re-enabled, "it will resume ... so you
  don't lose processing of any records": `interrupt()` ends the wait at once. An idle poller holds
  no messages (it waits before it receives), so nothing is received, and no receive is counted,
  after the update; records gathered for a window not yet sent are made visible again
  (ChangeMessageVisibility 0; their receive was counted, as on SQS any receive is). Batches already
  with the function finish and are deleted or retried as usual.
- Up to `ScalingConfig.MaximumConcurrency` batches are with the function at once (`esm_batch_slots`);
  unset, 5, the five batches AWS starts a queue with (it scales further only under sustained
  load; five keeps a laptop's function processes few).
Filtering, partial batch responses, deletes and FIFO groups are LocalStack's own `handle_messages`.
"""

from __future__ import annotations

import logging
import threading
import time

from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import (
    SqsPoller,
    split_by_message_group_id,
)

from edalab.plugins.lambda_.esm_batch_slots import BatchSlots
from edalab.plugins.lambda_.esm_queue_wait import QueueWaiter

LOG = logging.getLogger(__name__)

LONG_POLL_SECONDS = 20.0  # ReceiveMessage's longest WaitTimeSeconds
RECEIVE_LIMIT = 10  # ReceiveMessage's MaxNumberOfMessages
DEFAULT_CONCURRENT_BATCHES = 5
PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024  # a synchronous invocation's payload
LARGEST_MESSAGE_BYTES = 256 * 1024  # SQS's default MaximumMessageSize
# When the queue showed a message but the receive found none (another consumer took it), wait this
# long before looking again, so a message the receive cannot take never makes a busy loop.
PAUSE_AFTER_LOST_RACE_SECONDS = 0.05


def concurrency_limit(esm_config: dict) -> int:
    """ScalingConfig.MaximumConcurrency, or the five batches AWS starts with."""
    return (esm_config.get("ScalingConfig") or {}).get("MaximumConcurrency") or DEFAULT_CONCURRENT_BATCHES


def _payload_bytes(messages: list[dict]) -> int:
    return sum(len(message.get("Body", "")) + 1024 for message in messages)  # 1 KB for each record's fields


class LongPollingSqsPoller(SqsPoller):
    """Replaces `SqsPoller` in LocalStack's ESM worker factory (see sqs_polling.py)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._stopped = threading.Event()
        self._waiter = QueueWaiter(self.source_arn)
        self.slots = BatchSlots(DEFAULT_CONCURRENT_BATCHES)

    def configure(self, esm_config: dict) -> None:
        self.slots = BatchSlots(concurrency_limit(esm_config))

    def interrupt(self) -> None:
        """The mapping is disabled, deleted or the engine stops: end the wait now."""
        self._stopped.set()
        self._waiter.interrupt()
        self.slots.interrupt()

    def resume(self) -> None:
        self._stopped.clear()

    def poll_events(self) -> None:
        """One turn of the worker's loop: wait for a slot and a message, gather a batch, hand it to
        the function in a thread of its own. Returns normally when nothing came (never LocalStack's
        EmptyPollResultsException, whose back-off is what this replaces)."""
        if not self.slots.acquire(self._stopped):
            return
        try:
            batch = self._gather()
        except BaseException:
            self.slots.release()
            raise
        if not batch:
            self.slots.release()
            return
        if self._stopped.is_set():
            self._make_visible(batch)
            self.slots.release()
            return
        threading.Thread(target=self._deliver, args=(batch,), daemon=True,
                         name=f"esm-batch-{self.queue_url.rsplit('/', 1)[-1]}").start()

    def _gather(self) -> list[dict]:
        found = self._waiter.wait(LONG_POLL_SECONDS, self._stopped)
        if self._stopped.is_set():
            return []
        batch = self._receive(min(self.batch_size, RECEIVE_LIMIT))
        if not batch:
            if found:
                self._stopped.wait(PAUSE_AFTER_LOST_RACE_SECONDS)
            return []
        if not self.maximum_batching_window:
            return batch  # no window: invoke with what one receive returned, as AWS does
        window_ends = time.monotonic() + self.maximum_batching_window
        while len(batch) < self.batch_size and not self._stopped.is_set():
            room = (PAYLOAD_LIMIT_BYTES - _payload_bytes(batch)) // LARGEST_MESSAGE_BYTES
            wanted = min(RECEIVE_LIMIT, self.batch_size - len(batch), room)
            remaining = window_ends - time.monotonic()
            if wanted <= 0 or remaining <= 0:
                break
            if not self._waiter.wait(remaining, self._stopped):
                continue  # the window has passed, or the mapping stopped: the loop ends
            more = self._receive(wanted)
            if not more:
                self._stopped.wait(min(PAUSE_AFTER_LOST_RACE_SECONDS, remaining))
            batch += more
        return batch

    def _receive(self, count: int) -> list[dict]:
        response = self.source_client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=0,  # the wait happened in _gather; 0 also overrides a queue's own default
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
        return response.get("Messages", [])

    def _deliver(self, batch: list[dict]) -> None:
        try:
            if self.is_fifo_queue:
                for group in split_by_message_group_id(batch).values():
                    self.handle_messages(group)
            else:
                self.handle_messages(batch)
        except Exception as error:  # as LocalStack's poll_events: the messages return after their visibility timeout
            LOG.warning("Polling or batch processing failed: %s", error, exc_info=LOG.isEnabledFor(logging.DEBUG))
        finally:
            self.slots.release()

    def _make_visible(self, batch: list[dict]) -> None:
        """Gathered but not sent when the mapping stopped: back to the queue now, not after the
        visibility timeout."""
        for start in range(0, len(batch), RECEIVE_LIMIT):
            entries = [{"Id": str(n), "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0}
                       for n, message in enumerate(batch[start:start + RECEIVE_LIMIT])]
            try:
                self.source_client.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception as error:
                LOG.warning("edalab: could not return %d messages to %s: %s", len(entries), self.queue_url, error)

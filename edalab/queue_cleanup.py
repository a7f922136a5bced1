"""Takes a check's own messages out of a queue that others' messages share.

Why this exists: a check that sends messages must leave nothing behind, but the queue may
also hold the learner's messages, which must stay exactly as they were. Deleting needs a
receive, and a receive hides a message; so the learner's messages met on the way are held
(hidden) while the search goes on, then all made visible again at once. Holding them, rather
than releasing each at once, is what lets a FIFO queue hand out the next message of a group.
"""

from __future__ import annotations

from collections.abc import Callable

MAX_RECEIVES = 300  # how many receives the search may take through others' messages
HOLD_SECONDS = 60  # how long others' messages stay hidden at most, should the release fail


def remove_messages(sqs, queue_url: str, is_ours: Callable[[str], bool]) -> int:
    """Deletes every message on the queue whose body `is_ours`; returns how many."""
    held: list[str] = []
    removed = 0
    try:
        for _ in range(MAX_RECEIVES):
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                           VisibilityTimeout=HOLD_SECONDS).get("Messages", [])
            if not messages:
                break
            for message in messages:
                if is_ours(message["Body"]):
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                    removed += 1
                else:
                    held.append(message["ReceiptHandle"])
    finally:
        for start in range(0, len(held), 10):
            sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": receipt, "VisibilityTimeout": 0}
                for n, receipt in enumerate(held[start:start + 10])])
    return removed

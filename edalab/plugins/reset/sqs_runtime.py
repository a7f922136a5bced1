"""SQS long polls: ended at once when the state is stopped, allowed again for the state loaded next.

Why this exists: a ReceiveMessage with WaitTimeSeconds waits on its queue's internal queue for up
to 20 s; so do our mappings' pollers (`esm_queue_wait`) and Lambda's asynchronous-invoke pollers
(2 s). LocalStack ends them only at engine shutdown (`SqsQueue.shutdown()`), and that shutdown is
permanent for the queue object. `close_all()` does the same for every queue of the loaded state,
so no receive outlives a reset; `open_all()` undoes it for the queues the stores hold afterwards
(a snapshot may have been saved from closed queues).
"""

from __future__ import annotations

import sys


def _queues():
    models = sys.modules.get("localstack.services.sqs.models")
    if models is None:  # SQS never loaded in this engine: no queue to close
        return
    for _account, _region, store in list(models.sqs_stores.iter_stores()):
        yield from list(store.queues.values())


def _internal_queues(queue):
    from localstack.services.sqs.queue import InterruptibleQueue

    for name in ("visible", "message_group_queue"):
        inner = getattr(queue, name, None)
        if isinstance(inner, InterruptibleQueue):
            yield inner


def close_all() -> int:
    """Ends every waiting receive of every queue; returns how many queues were closed."""
    count = 0
    for queue in _queues():
        queue.shutdown()
        count += 1
    return count


def open_all() -> int:
    """Lets every queue of the stores be waited on again; returns how many were reopened."""
    count = 0
    for queue in _queues():
        for inner in _internal_queues(queue):
            if inner.is_shutdown:
                inner.is_shutdown = False
                count += 1
    return count

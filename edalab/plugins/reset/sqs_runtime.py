"""SQS's background work: long polls, and the publisher of queue depths to CloudWatch.

Why this exists: a ReceiveMessage with WaitTimeSeconds waits on its queue's internal queue for up
to 20 s; so do our mappings' pollers (`esm_queue_wait`) and Lambda's asynchronous-invoke pollers
(2 s). LocalStack ends them only at engine shutdown (`SqsQueue.shutdown()`), and that shutdown is
permanent for the queue object. `close_all()` does the same for every queue of the loaded state,
so no receive outlives a reset; `open_all()` undoes it for the queues the stores hold afterwards
(a snapshot may have been saved from closed queues).
Every 5 s LocalStack's `CloudwatchPublishWorker` reads every queue's depth (and, with our
`age_metric`, its oldest message's age) and sends them to CloudWatch; one that read the old
state's queues while a reset emptied the stores put their metrics into the new state's
CloudWatch (3 resets in 6). `stop_publisher()` stops it and waits for a round under way;
`start_publisher()` starts it again.
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


PUBLISHER_JOIN_SECONDS = 10.0


def _publisher():
    from edalab.plugins.reset import services

    provider = services.provider("sqs")
    return getattr(provider, "_cloudwatch_publish_worker", None) if provider is not None else None


def stop_publisher() -> bool:
    """Stops the queue-depth publisher and waits for a round under way; True when one was running."""
    worker = _publisher()
    thread = getattr(worker, "thread", None)
    if worker is None or thread is None:
        return False
    worker.stop()
    thread.join(timeout=PUBLISHER_JOIN_SECONDS)
    return True


def start_publisher() -> bool:
    worker = _publisher()
    if worker is None or worker.thread is not None:
        return False
    worker.start()
    return True

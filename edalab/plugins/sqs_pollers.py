"""More than one poller for an SQS event source mapping, as AWS runs them.

Why this exists: on AWS a standard-queue event source mapping starts with five pollers and
adds more while a backlog lasts, so several batches are processed at once. LocalStack runs
exactly one poller per mapping, which receives a batch, waits for the function to finish it,
deletes what succeeded and only then receives again. Measured on the lab 02 pipeline (2
cores): the engine and the function process took turns, each idle half the time, and
10,000 uploads took five minutes.

This hook, run as the engine starts, gives every mapping on a *standard* queue extra pollers
(`EDALAB_SQS_POLLERS` in all, default 2) that run LocalStack's own `poll_events` side by
side with its poller: each receives its own batch, invokes the function (LocalStack starts
another execution environment when one is busy) and deletes its own successes. SQS's
visibility timeout keeps them from taking the same message, exactly as with AWS's pollers.
FIFO queues keep one poller: order within a message group is the point of them.

The extra pollers back off longer than the main one on an empty queue
(`EXTRA_POLLER_IDLE_SECONDS`), so an idle engine polls hardly more than before, and they
stop when the mapping is disabled, deleted or the engine shuts down.
"""

from __future__ import annotations

import logging
import os
import threading

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)

DEFAULT_POLLERS = 2
EXTRA_POLLER_IDLE_SECONDS = 2.0


def pollers_per_mapping() -> int:
    raw = os.environ.get("EDALAB_SQS_POLLERS", str(DEFAULT_POLLERS))
    try:
        return max(1, int(raw))
    except ValueError:
        LOG.warning("EDALAB_SQS_POLLERS=%r is not a whole number; using %d", raw, DEFAULT_POLLERS)
        return DEFAULT_POLLERS


def _poll_alongside(worker, generation: int) -> None:
    """One extra poller: LocalStack's poll_events in a loop until the mapping stops."""
    from localstack import config
    from localstack.services.lambda_.event_source_mapping.pollers.poller import EmptyPollResultsException
    from localstack.utils.backoff import ExponentialBackoff

    on_error = ExponentialBackoff(initial_interval=2,
                                  max_interval=config.LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_ERROR_SEC)
    stopping = worker._shutdown_event
    while worker._edalab_generation == generation and not stopping.is_set():
        pause = config.LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC
        try:
            worker.poller.poll_events()
            on_error.reset()
        except EmptyPollResultsException:
            pause = EXTRA_POLLER_IDLE_SECONDS
        except Exception as error:  # the main poller logs the same failure; keep ours quiet
            LOG.debug("extra poller for %s: %s", worker.uuid, error)
            pause = on_error.next_backoff()
        stopping.wait(pause)


def _is_standard_sqs_mapping(worker) -> bool:
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller

    if not isinstance(worker.poller, SqsPoller):
        return False
    try:
        return not worker.poller.is_fifo_queue
    except Exception as error:  # queue gone or unreadable: leave the mapping as LocalStack has it
        LOG.debug("event source mapping %s: cannot tell the queue type (%s)", worker.uuid, error)
        return False


def _start_with_extra_pollers(original_start, worker) -> None:
    original_start(worker)
    worker._edalab_generation = getattr(worker, "_edalab_generation", 0) + 1
    extra = pollers_per_mapping() - 1
    if extra < 1 or not _is_standard_sqs_mapping(worker):
        return
    for n in range(extra):
        threading.Thread(target=_poll_alongside, args=(worker, worker._edalab_generation),
                         name=f"edalab-extra-poller-{n + 1}-{worker.uuid}", daemon=True).start()


@hooks.on_infra_start()
def start_extra_sqs_pollers() -> None:
    """Wraps EsmWorker.start so each standard-queue mapping starts with its extra pollers."""
    from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker

    if getattr(EsmWorker.start, "_edalab_extra_pollers", False):
        return
    original_start = EsmWorker.start

    def start(self):
        _start_with_extra_pollers(original_start, self)

    start._edalab_extra_pollers = True
    EsmWorker.start = start
    LOG.debug("SQS event source mappings: %d pollers each", pollers_per_mapping())

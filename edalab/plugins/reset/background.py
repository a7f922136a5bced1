"""Stopping and starting the engine's background work, apart from its stores: `stop_all()`, `start_all()`.

Why this exists: an engine's state is more than its stores. Threads and processes work for it in
the background (a mapping's poller, a function's process, an alarm's evaluation, a scheduled
rule's job, a long poll held open) and they keep references to the objects of the state they were
started for. Clearing or replacing the stores under them leaves them running for a state that is
gone (LocalStack's CloudWatch reset left alarm tasks logging "Could not find alarm" every 10 s;
EventBridge kept firing scheduled rules). The reset (`POST /_edalab/reset`) and the snapshot's
restore both stop that work first and start it again for the state loaded afterwards.

CONTRACT (the reset plugin and the snapshot plugin both rely on it; both run in the engine process)

`stop_all() -> dict[str, float]`
    Stops every piece of background work that belongs to the state loaded now, and returns how
    many seconds each part took (keys: "lambda", "sqs", "events", "deliveries", "cloudwatch",
    "metrics", "connections", plus counts such as "lambda.environments"; informative only). It does NOT
    change what the stores hold: a save made after it sees every queue, message, function,
    mapping, alarm and rule as they were. When it returns:
    - Lambda: every event source mapping's worker is stopped (its long poll ended at once) and
      forgotten (`LambdaProvider.esm_workers` is empty); every function process is killed (in
      parallel) and reaped; the provider has a fresh, empty `LambdaService`, so a function in the
      store has no running version until `start_all()` (an Invoke in between fails: do not serve
      requests between the two calls).
    - SQS: every queue's open long polls (ReceiveMessage with WaitTimeSeconds) have returned, and
      the publisher of queue depths to CloudWatch is stopped (a round under way has finished).
    - EventBridge: no scheduled rule's job is left in LocalStack's `JobScheduler` (the scheduler's
      loop thread itself stays, it is engine-wide), no retry timer of ours is pending, every
      running replay is told to stop; the provider's runtime objects (rule services, target
      senders, bus, archive and replay services) are forgotten.
    - S3 and SNS: event notifications and subscriber deliveries queued and not yet sent are
      dropped (each provider gets a new dispatcher); those being sent have finished.
    - CloudWatch: the alarm schedule (`alarm_schedule.AlarmSchedule`) has no alarm scheduled and
      its thread has ended.
    - Metrics: data points our plugins collected but had not yet sent (`metric_batches`,
      the SQS metric coalescer, Lambda's concurrency gauges) are dropped, never sent.
    - Connections: LocalStack's cached internal clients have closed their idle keep-alive
      connections ("connections"; a client still in use reconnects on its next call).
    Calling it twice is harmless.

`start_all() -> dict[str, float]`
    Starts the background work for whatever the stores hold now (empty after a reset, the
    baseline after a restore), as the services' own `on_after_state_load` hooks would:
    - SQS: every queue of the store can be long-polled again (`stop_all` closed the queues to end
      their waits, which LocalStack makes permanent; a queue saved while closed is reopened too),
      and the queue-depth publisher runs again.
    - Lambda: every function version of the store is started, all at once (state Pending, then
      Active; its process starts on the first invoke, as before), then every event source mapping
      gets a worker, polling when the mapping is Enabled (a disabled one is created stopped).
      With all labs' 19 versions and 9 mappings: 0.4-1.1 s on 2 busy cores.
    - CloudWatch: the alarm schedule's thread runs and every metric alarm in the store is scheduled
      (evaluated at once, then on its cadence).
    - EventBridge: the provider's runtime objects are rebuilt from the store (buses, rules with
      their targets' senders, archives) and every scheduled rule (ScheduleExpression) gets its job,
      enabled as the rule is.
    It returns how long each part took (keys "sqs", "lambda", "cloudwatch", "events", plus counts
    and phases such as "lambda.functions", "lambda.versions_seconds"). Called without a
    `stop_all()` before it, it calls `stop_all()` first, so work is never started twice.

Rules for a caller (the snapshot's restore):
    1. `stop_all()`; 2. replace the stores' contents; 3. `start_all()`.
    In step 2 do NOT call Lambda's or CloudWatch's `on_before_state_load` / `on_after_state_load`
    hooks (they would start a second set of mapping workers and alarm schedules); other services'
    load hooks (S3's CORS cache, for instance) are fine to call. Hold `LOCK` (a re-entrant lock;
    both functions take it too) around the three steps so a reset cannot run in between.

Nothing here imports LocalStack at import time (function processes import `edalab.plugins`).
"""

from __future__ import annotations

import logging
import threading
import time

from edalab.plugins.reset import (
    cloudwatch_runtime,
    deliveries,
    events_runtime,
    internal_clients,
    lambda_runtime,
    sqs_runtime,
)

LOG = logging.getLogger(__name__)

LOCK = threading.RLock()
_stopped = False  # True between stop_all() and start_all()


def _timed(parts: dict, name: str, work) -> None:
    """Runs `work()`, putting its seconds under `name` (and what it counted, if it returns a dict)."""
    started = time.perf_counter()
    try:
        counted = work()
    except Exception as error:  # one service's failure must not leave the others running
        LOG.warning("edalab: stopping/starting %s failed: %s", name, error, exc_info=True)
        parts[name + ".error"] = str(error)
        counted = None
    parts[name] = round(time.perf_counter() - started, 4)
    if isinstance(counted, dict):
        parts.update({f"{name}.{key}": value for key, value in counted.items()})


def stop_all() -> dict[str, float]:
    """Stops the background work of the loaded state (see the contract above)."""
    global _stopped
    with LOCK:
        parts: dict[str, float] = {}
        # S3's and SNS's queued deliveries first, while every target still answers: a delivery under
        # way to a stopped function would wait out the SDK's retries (11 s seen)
        _timed(parts, "deliveries", deliveries.stop)
        # then Lambda: its mappings and async-invoke pollers are told to stop, then every long poll
        # (theirs and clients') is ended, so nobody waits out a 20 s (or 2 s) receive.
        _timed(parts, "lambda.signal", lambda_runtime.signal_stop)
        _timed(parts, "sqs", lambda: {"queues": sqs_runtime.close_all(), "publisher": sqs_runtime.stop_publisher()})
        _timed(parts, "lambda", lambda_runtime.stop)
        _timed(parts, "deliveries.again", lambda: deliveries.stop(wait=False))  # what functions queued meanwhile
        _timed(parts, "events", events_runtime.stop)
        _timed(parts, "cloudwatch", cloudwatch_runtime.stop)
        _timed(parts, "metrics", cloudwatch_runtime.drop_pending_metrics)
        _timed(parts, "connections", lambda: {"clients": internal_clients.close_idle_connections()})
        _stopped = True
        return parts


def start_all() -> dict[str, float]:
    """Starts the background work for the state loaded now (see the contract above)."""
    global _stopped
    with LOCK:
        parts: dict[str, float] = {}
        if not _stopped:
            parts.update({"stop." + name: took for name, took in stop_all().items()})
        _timed(parts, "sqs", lambda: {"queues": sqs_runtime.open_all(), "publisher": sqs_runtime.start_publisher()})
        _timed(parts, "lambda", lambda_runtime.start)
        _timed(parts, "cloudwatch", cloudwatch_runtime.start)
        _timed(parts, "events", events_runtime.start)
        _stopped = False
        return parts

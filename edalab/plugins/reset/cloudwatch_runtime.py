"""CloudWatch's background work: the alarm schedule, and metric data points not yet sent.

Why this exists: LocalStack's CloudWatch reset hook clears the alarm dictionary but its scheduler
kept the alarms' tasks ("Could not find alarm ..." every 10 s); our `AlarmSchedule` forgets every
alarm on `shutdown()` and ends its thread. Data points our plugins collect (`metric_batches`,
the SQS metric coalescer, Lambda's concurrency peaks) are sent once a second: those of the old
state are dropped, or they would reappear in the new state's CloudWatch a second later; so are
those of invocations the stop cut short (their metrics are added as they return: the drop waits
for them, at most 2 s) and those of a flush under way (it is waited for, and lands in the old store).
"""

from __future__ import annotations

import sys
import time

from edalab.plugins.reset import services


def stop() -> None:
    provider = services.provider("cloudwatch")
    scheduler = getattr(provider, "alarm_scheduler", None)
    if scheduler is not None:
        scheduler.shutdown()


def start() -> None:
    provider = services.provider("cloudwatch")
    scheduler = getattr(provider, "alarm_scheduler", None)
    if scheduler is not None:
        scheduler.start()
        scheduler.restart_existing_alarms()


IN_FLIGHT_WAIT_SECONDS = 2.0


def _wait_for_invocations_to_end() -> int:
    """Waits (at most 2 s) until no invocation of the stopped state is still ending: one whose
    process the stop killed still adds its Invocations/Errors/Duration as it returns. Returns
    how many were still under way at the deadline."""
    metrics = sys.modules.get("edalab.plugins.lambda_.metrics")
    if metrics is None:
        return 0
    deadline = time.monotonic() + IN_FLIGHT_WAIT_SECONDS
    while metrics.invocations_in_flight() and time.monotonic() < deadline:
        time.sleep(0.01)
    return metrics.invocations_in_flight()


def drop_pending_metrics() -> dict[str, int]:
    left = _wait_for_invocations_to_end()
    batchers = [getattr(sys.modules.get(module), name, None) for module, name in
                (("edalab.plugins.metric_batches", "_shared"), ("edalab.plugins.sqs.metric_coalescer", "_coalescer"))]
    for batcher in batchers:
        if batcher is not None:
            batcher.discard_pending()
    return {"invocations_still_ending": left}

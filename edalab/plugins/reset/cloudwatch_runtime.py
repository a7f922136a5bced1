"""CloudWatch's background work: the alarm schedule, and metric data points not yet sent.

Why this exists: LocalStack's CloudWatch reset hook clears the alarm dictionary but its scheduler
kept the alarms' tasks ("Could not find alarm ..." every 10 s); our `AlarmSchedule` forgets every
alarm on `shutdown()` and ends its thread. Data points our plugins collect (`metric_batches`,
the SQS metric coalescer, Lambda's concurrency peaks) are sent once a second: those of the old
state are dropped, or they would reappear in the new state's CloudWatch a second later.
"""

from __future__ import annotations

import sys

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


def drop_pending_metrics() -> None:
    batchers = [getattr(sys.modules.get(module), name, None) for module, name in
                (("edalab.plugins.metric_batches", "_shared"), ("edalab.plugins.sqs.metric_coalescer", "_coalescer"))]
    for batcher in batchers:
        if batcher is not None:
            batcher.discard_pending()

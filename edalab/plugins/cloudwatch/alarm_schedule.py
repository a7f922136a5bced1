"""When each metric alarm is evaluated: every minute, or every period when the period is shorter.

Why this exists: LocalStack's `AlarmScheduler` runs an alarm every Period × EvaluationPeriods
(an alarm with a 5-minute period over 3 periods is looked at every 15 minutes), and its state
reset leaves tasks running that log "Could not find alarm". AWS: "For any period of one minute or
longer, an alarm is evaluated every minute ... For a period shorter than a minute (10 or 30 s,
high-resolution alarms) it is evaluated every period" (CloudWatch user guide, Alarm evaluation).

One thread keeps a heap of due times, aligned to the wall clock (an alarm with a 10 s period is
evaluated at :00, :10, :20 ... plus a small lag for data put just before the boundary), and an
alarm is first evaluated as soon as it is put. It has the interface of LocalStack's
`AlarmScheduler` (start, shutdown, schedule_metric_alarm, delete_scheduler_for_alarm,
restart_existing_alarms), so LocalStack's provider code that calls it keeps working; deleting an
alarm or stopping the engine leaves nothing scheduled and no thread running.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable

LOG = logging.getLogger(__name__)

# Seconds after a period boundary before evaluating it: data put at the boundary is stored by then.
EVALUATION_LAG = 1.0


def next_boundary(now: float, interval: float) -> float:
    """The first multiple of `interval` (epoch seconds) after `now`."""
    return (now // interval + 1) * interval


class AlarmSchedule:
    """Runs `evaluate(alarm_arn, boundary)` for every scheduled alarm on its cadence.

    `interval_of(alarm_arn)` gives the seconds between evaluations, or None when the alarm is gone
    (it is then forgotten). `existing_alarms()` lists the ARNs to schedule after a state load."""

    def __init__(self, evaluate: Callable[[str, float], None], interval_of: Callable[[str], float | None],
                 existing_alarms: Callable[[], list[str]] = list, clock: Callable[[], float] = time.time):
        self._evaluate = evaluate
        self._interval_of = interval_of
        self._existing_alarms = existing_alarms
        self._clock = clock
        self._condition = threading.Condition()
        self._due: list[tuple[float, int, str]] = []  # (when, generation, arn)
        self._generation: dict[str, int] = {}  # arn -> generation of its live heap entry
        self._counter = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    # LocalStack's AlarmScheduler interface ---------------------------------------------------
    def start(self) -> None:
        with self._condition:
            if self._thread and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="edalab-alarm-evaluation", daemon=True)
            self._thread.start()

    def shutdown(self) -> None:
        with self._condition:
            self._stopping = True
            self._due.clear()
            self._generation.clear()
            self._condition.notify_all()
            thread, self._thread = self._thread, None
        if thread and thread is not threading.current_thread():
            thread.join(10)

    def schedule_metric_alarm(self, alarm_arn: str) -> None:
        """(Re)schedules the alarm: evaluated at once, then on its cadence."""
        with self._condition:
            self._push(alarm_arn, self._clock())

    def delete_scheduler_for_alarm(self, alarm_arn: str) -> None:
        with self._condition:
            self._generation.pop(alarm_arn, None)  # its heap entry is skipped when it comes up

    def restart_existing_alarms(self) -> None:
        for alarm_arn in self._existing_alarms():
            self.schedule_metric_alarm(alarm_arn)

    # ------------------------------------------------------------------------------------------
    def scheduled(self) -> set[str]:
        with self._condition:
            return set(self._generation)

    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    def _push(self, alarm_arn: str, when: float) -> None:
        self._counter += 1
        self._generation[alarm_arn] = self._counter
        heapq.heappush(self._due, (when, self._counter, alarm_arn))
        self._condition.notify_all()

    def _next_due(self) -> tuple[str, float, int] | None:
        """Waits for the next due alarm; None when stopping."""
        with self._condition:
            while not self._stopping:
                if not self._due:
                    self._condition.wait()
                    continue
                when, generation, alarm_arn = self._due[0]
                if self._generation.get(alarm_arn) != generation:
                    heapq.heappop(self._due)  # deleted or rescheduled since
                    continue
                wait = when - self._clock()
                if wait > 0:
                    self._condition.wait(wait)
                    continue
                heapq.heappop(self._due)
                return alarm_arn, when, generation
            return None

    def _run(self) -> None:
        while (due := self._next_due()) is not None:
            alarm_arn, when, generation = due
            interval = self._interval_of(alarm_arn)
            if interval is None:
                self.delete_scheduler_for_alarm(alarm_arn)
                continue
            boundary = (when - EVALUATION_LAG) // interval * interval
            try:
                self._evaluate(alarm_arn, boundary)
            except Exception as error:  # one alarm's failure must not stop the others
                LOG.warning("edalab: evaluating alarm %s failed: %s", alarm_arn, error,
                            exc_info=LOG.isEnabledFor(logging.DEBUG))
            with self._condition:
                # not when stopping, deleted, or put again meanwhile (that put scheduled it)
                if not self._stopping and self._generation.get(alarm_arn) == generation:
                    self._push(alarm_arn, next_boundary(self._clock() - EVALUATION_LAG, interval) + EVALUATION_LAG)

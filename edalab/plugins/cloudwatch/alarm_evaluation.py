"""The state a metric alarm should be in, given its data points: AWS's rules as pure functions.

Why this exists: LocalStack's `alarm_scheduler.py` looks at an alarm every Period × EvaluationPeriods
and decides with rules of its own. AWS documents the decision ("Alarm evaluation" and
"Configuring how CloudWatch alarms treat missing data" in the CloudWatch user guide):
- CloudWatch fetches an *evaluation range* of more data points than EvaluationPeriods (N);
- if the range holds at least N real data points, the N most recent real ones decide: ALARM when
  at least DatapointsToAlarm (M) of them breach, else OK, whatever TreatMissingData says;
- with fewer than N real data points, the missing ones are filled as TreatMissingData says
  (`breaching`, `notBreaching`), as few as possible; `missing` and `ignore` do not fill them:
  `missing` goes to INSUFFICIENT_DATA when the whole range is empty, `ignore` keeps the state
  whenever the real points alone cannot decide;
- an M-of-N alarm with `missing` goes to ALARM early when the oldest breaching point in
  the last N periods is at least M periods old and every newer one breaches or is missing
  ("avoiding premature transitions to alarm state").
Everything here is pure (no engine), so `tests/test_alarm_evaluation.py` checks the user guide's
table of examples row by row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"

COMPARISONS = {
    "GreaterThanOrEqualToThreshold": (lambda value, threshold: value >= threshold, "greater than or equal to"),
    "GreaterThanThreshold": (lambda value, threshold: value > threshold, "greater than"),
    "LessThanThreshold": (lambda value, threshold: value < threshold, "less than"),
    "LessThanOrEqualToThreshold": (lambda value, threshold: value <= threshold, "less than or equal to"),
}


def evaluation_range(evaluation_periods: int) -> int:
    """How many periods CloudWatch fetches for N evaluation periods. AWS says only "more than N";
    N + max(N // 3, 2) gives the 5 of the user guide's 3-period examples (LocalStack's choice too)."""
    return evaluation_periods + max(evaluation_periods // 3, 2)


def evaluation_interval(period: int) -> int:
    """Seconds between two evaluations: every minute, or every period when it is shorter."""
    return min(int(period), 60)


@dataclass(frozen=True)
class Datapoint:
    timestamp: datetime
    value: float | None  # None: no data in that period


@dataclass
class Decision:
    state: str | None  # None: keep the current state
    reason: str
    evaluated: list[Datapoint] = field(default_factory=list)


def _stamp(point: Datapoint) -> str:
    return point.timestamp.astimezone(UTC).strftime("%d/%m/%y %H:%M:%S")


def _points_text(points: list[Datapoint]) -> str:
    return ", ".join(f"{point.value} ({_stamp(point)})" for point in points)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def decide(datapoints: list[Datapoint], *, threshold: float, comparison: str, evaluation_periods: int,
           datapoints_to_alarm: int | None = None, treat_missing_data: str | None = None,
           current_state: str = INSUFFICIENT_DATA) -> Decision:
    """The state for an evaluation range `datapoints` (oldest first, one per period, None for missing)."""
    breaches, words = COMPARISONS[comparison]
    n = int(evaluation_periods)
    m = int(datapoints_to_alarm or n)
    treat = treat_missing_data or "missing"
    real = [point for point in datapoints if point.value is not None]

    def is_breaching(point: Datapoint) -> bool:
        return breaches(point.value, threshold)

    if len(real) >= n:
        recent = real[-n:]
        breaching = sum(map(is_breaching, recent))
        state = ALARM if breaching >= m else OK
        return Decision(state, _threshold_reason(recent, is_breaching, n, m, state, words, threshold), recent)

    missing = n - len(real)
    breaching = sum(map(is_breaching, real))
    if treat in ("breaching", "notBreaching"):
        filled = missing if treat == "breaching" else 0
        state = ALARM if breaching + filled >= m else OK
        label = "Breaching" if treat == "breaching" else "NonBreaching"
        if not real:
            reason = (f"Threshold Crossed: no datapoints were received for {_plural(n, 'period')} and "
                      f"{_plural(missing, 'missing datapoint')} {'was' if missing == 1 else 'were'} "
                      f"treated as [{label}].")
        else:
            on_side = missing if (treat == "breaching") == (state == ALARM) else 0
            reason = (_threshold_reason(real, is_breaching, n, m, state, words, threshold, on_side)
                      + f" {_plural(missing, 'missing datapoint')} treated as [{label}].")
        return Decision(state, reason, real)

    if not real:
        if treat == "ignore":
            return Decision(None, "no datapoints: the current state is kept [Ignore].")
        return Decision(INSUFFICIENT_DATA, f"Insufficient Data: {_plural(n, 'datapoint')} "
                        f"{'was' if n == 1 else 'were'} unknown.")
    if breaching >= m:  # ALARM whatever the missing ones would have been
        return Decision(ALARM, _threshold_reason(real, is_breaching, n, m, ALARM, words, threshold), real)
    if breaching + missing < m:  # OK whatever the missing ones would have been
        return Decision(OK, _threshold_reason(real, is_breaching, n, m, OK, words, threshold), real)
    if treat == "missing" and _premature_alarm(datapoints[-n:], m, is_breaching):
        return Decision(ALARM, _threshold_reason(real, is_breaching, n, m, ALARM, words, threshold), real)
    return Decision(None, "not enough datapoints to decide: the current state is kept.", real)


def _premature_alarm(last_n: list[Datapoint], m: int, is_breaching) -> bool:
    """The oldest breaching point of the last N periods is at least M periods old, and every
    newer point breaches or is missing."""
    for age, point in zip(range(len(last_n), 0, -1), last_n, strict=True):
        if point.value is None:
            continue
        if not is_breaching(point):
            return False
        return age >= m and all(p.value is None or is_breaching(p) for p in last_n[len(last_n) - age:])
    return False


def _threshold_reason(points: list[Datapoint], is_breaching, n: int, m: int, state: str, words: str,
                      threshold: float, filled: int = 0) -> str:
    """AWS's StateReason, listing the points on the side of the new state, e.g. "Threshold Crossed:
    1 datapoint [5.0 (24/11/26 01:40:00)] was greater than the threshold (0.0)." or "2 out of the last
    3 datapoints [...] were greater than ... (minimum 2 datapoints for OK -> ALARM transition).".
    `filled`: missing points counted on that side (TreatMissingData breaching/notBreaching)."""
    negation = "" if state == ALARM else "not "
    if n == 1:
        return (f"Threshold Crossed: 1 datapoint [{_points_text(points[-1:])}] was {negation}{words} the "
                f"threshold ({float(threshold)}).")
    shown = [p for p in points[-n:] if is_breaching(p) == (state == ALARM)]
    counted = len(shown) + filled
    head = (f"{counted} out of the last {n} datapoints [{_points_text(shown)}] {'was' if counted == 1 else 'were'} "
            f"{negation}{words} the threshold ({float(threshold)})")
    if state == ALARM:
        return f"Threshold Crossed: {head} (minimum {_plural(m, 'datapoint')} for OK -> ALARM transition)."
    return f"Threshold Crossed: {head} (minimum {_plural(n - m + 1, 'datapoint')} for ALARM -> OK transition)."


def alarm_queries(alarm: dict) -> tuple[int, list[dict], str]:
    """(period, MetricDataQueries, id of the query whose series is compared) for a metric alarm."""
    if alarm.get("Metrics"):
        queries = [dict(q) for q in alarm["Metrics"]]
        returned = [q for q in queries if q.get("ReturnData", True)]
        periods = [int(q["MetricStat"]["Period"]) for q in queries if q.get("MetricStat")]
        periods += [int(q["Period"]) for q in queries if q.get("Period")]
        return min(periods) if periods else 60, queries, returned[0]["Id"] if returned else ""
    stat = {
        "Metric": {"Namespace": alarm.get("Namespace"), "MetricName": alarm.get("MetricName"),
                   "Dimensions": alarm.get("Dimensions") or []},
        "Period": int(alarm["Period"]),
        "Stat": alarm.get("Statistic") or alarm.get("ExtendedStatistic"),
    }
    if alarm.get("Unit"):
        stat["Unit"] = alarm["Unit"]
    return int(alarm["Period"]), [{"Id": "m1", "MetricStat": stat, "ReturnData": True}], "m1"


def period_slots(end: float, period: int, count: int) -> list[tuple[float, float]]:
    """The `count` periods that end at `end` (epoch seconds), oldest first, as (start, end)."""
    return [(end - (count - index) * period, end - (count - index - 1) * period) for index in range(count)]


def place_in_slots(timestamps: list[datetime | float], values: list[float], start: float, period: int,
                   count: int) -> list[float | None]:
    """One value per period from a MetricDataResult's Timestamps/Values; None where none fell."""
    slots: list[float | None] = [None] * count
    for stamp, value in zip(timestamps, values, strict=False):
        seconds = stamp.timestamp() if isinstance(stamp, datetime) else float(stamp)
        index = math.floor((seconds - start) / period + 1e-9)
        if 0 <= index < count and value is not None:
            slots[index] = float(value)
    return slots

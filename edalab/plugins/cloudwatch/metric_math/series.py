"""The values metric math works on: a time series (timestamp -> value, with its period and label)
and the error a bad expression raises (answered as AWS's ValidationError)."""

from __future__ import annotations

from dataclasses import dataclass, field

DROPPED_POINTS = (
    "ArithmeticError",
    "One or more data-points have been dropped due to non-numeric values (NaN, -Infinite, +Infinite)",
)


class MathError(ValueError):
    """An expression AWS refuses: a syntax error, an unknown Id or function, a wrong argument."""


@dataclass
class MetricSeries:
    """One time series: unix-second timestamps (period starts) to values."""

    points: dict[int, float]
    period: int
    label: str
    messages: list[tuple[str, str]] = field(default_factory=list)


def first_bucket(start: int, period: int) -> int:
    """AWS rounds StartTime down: to the minute for periods of a minute or more, to the period's
    division of a minute for high-resolution periods (1, 5, 10, 30 s)."""
    step = 60 if period >= 60 else period
    return start - start % step


def period_starts(start: int, end: int, period: int) -> list[int]:
    """Every period start of the request's time range (start inclusive, end exclusive)."""
    return list(range(first_bucket(start, period), end, period))

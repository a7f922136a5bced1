"""Waiting for something to become true, with a deadline and a useful failure message.

Why this exists: events arrive asynchronously. Checks and tests poll for the outcome instead
of sleeping a fixed time, and when the deadline passes they say what they were waiting for
and what they saw last, so a learner (or a CI log) knows where the flow stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimedOut(AssertionError):
    """The awaited condition did not hold before the deadline; `last` is what was seen last."""

    def __init__(self, message: str, last: object = None):
        super().__init__(message)
        self.last = last


def wait_for(
    probe: Callable[[], T],
    *,
    what: str,
    timeout: float = 30.0,
    interval: float = 0.1,
    until: Callable[[T], bool] = bool,
) -> T:
    """Calls `probe` until `until(result)` holds; returns that result.

    Raises WaitTimedOut naming `what` and the last result when `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = probe()
        if until(last):
            return last
        if time.monotonic() >= deadline:
            raise WaitTimedOut(f"waited {timeout:.0f} s for {what}; last saw: {last!r}"[:2000], last)
        time.sleep(interval)


def wait_for_or_last(probe: Callable[[], T], **options) -> T:
    """`wait_for(probe, **options)`, but when the deadline passes it returns what was seen last
    instead of raising: for a caller whose own assertions (or report) then say precisely what is
    missing."""
    try:
        return wait_for(probe, **options)
    except WaitTimedOut as late:
        return late.last

"""The aggregate functions of `stats`: one small accumulator class per function.

Why this exists: each group of a `stats ... by` keeps one accumulator per aggregate call and
feeds it the events of the group; the result is what AWS documents for the function:
`count(*)` counts events, `count(field)` the events that have the field, `count_distinct`
the distinct values, `sum`/`avg`/`min`/`max`/`stddev` take the values that read as numbers,
`pct(field, 95)` (alias `percentile`) is a value of the field (nearest rank), `earliest`/`latest`
the value at the earliest/latest `@timestamp`.
"""

from __future__ import annotations

import math

from edalab.plugins.logs.insights import syntax as s
from edalab.plugins.logs.insights.expressions import Compiler, as_number, as_text


class Count:
    def __init__(self, value):
        self.value, self.total = value, 0

    def add(self, row) -> None:
        if self.value is None or self.value(row) is not None:
            self.total += 1

    def result(self):
        return self.total


class CountDistinct:
    def __init__(self, value):
        self.value, self.seen = value, set()

    def add(self, row) -> None:
        found = self.value(row)
        if found is not None:
            self.seen.add(as_text(found))

    def result(self):
        return len(self.seen)


class Numbers:
    """The aggregates over the values that read as numbers."""

    def __init__(self, value, kind: str, percent: float | None = None):
        self.value, self.kind, self.percent = value, kind, percent
        self.numbers: list = []

    def add(self, row) -> None:
        number = as_number(self.value(row))
        if number is not None:
            self.numbers.append(number)

    def result(self):
        numbers = self.numbers
        if not numbers:
            return None
        if self.kind == "sum":
            return sum(numbers)
        if self.kind == "avg":
            return sum(numbers) / len(numbers)
        if self.kind == "min":
            return min(numbers)
        if self.kind == "max":
            return max(numbers)
        if self.kind == "stddev":
            if len(numbers) < 2:
                return 0
            mean = sum(numbers) / len(numbers)
            return math.sqrt(sum((n - mean) ** 2 for n in numbers) / (len(numbers) - 1))
        ordered = sorted(numbers)  # pct: nearest rank
        rank = max(1, math.ceil(self.percent / 100 * len(ordered)))
        return ordered[min(rank, len(ordered)) - 1]


class AtTime:
    """earliest(field) / latest(field): the field's value at the first / last @timestamp."""

    def __init__(self, value, latest: bool):
        self.value, self.latest, self.best = value, latest, None

    def add(self, row) -> None:
        found = self.value(row)
        if found is None:
            return
        stamp = row.get("@timestamp")
        if self.best is None or (stamp > self.best[0] if self.latest else stamp < self.best[0]):
            self.best = (stamp, found)

    def result(self):
        return None if self.best is None else self.best[1]


def accumulator_factory(call: s.Call, compiler: Compiler):
    """A function making a fresh accumulator for `call` (one per group)."""
    name, args = call.name, call.args
    if name == "count":
        if not args or args[0] == s.Literal("*"):
            return lambda: Count(None)
        value = compiler.compile(args[0])
        return lambda: Count(value)
    if not args:
        raise ValueError(f"{name} needs a field")
    value = compiler.compile(args[0])
    if name == "count_distinct":
        return lambda: CountDistinct(value)
    if name in ("earliest", "latest"):
        return lambda: AtTime(value, name == "latest")
    if name in ("pct", "percentile"):
        if len(args) != 2 or not isinstance(args[1], s.Literal) or as_number(args[1].value) is None:
            raise ValueError(f"{name} needs a field and a percentile, as in {name}(latency, 95)")
        percent = float(as_number(args[1].value))
        return lambda: Numbers(value, "pct", percent)
    return lambda: Numbers(value, name)

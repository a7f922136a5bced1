"""Evaluating metric math trees over the request's time series, as AWS's "Metric math syntax and
functions" describes:
- values are scalars, time series, or arrays of time series (`METRICS()`, `[m1, m2]`);
- an operator between two series works on the timestamps both have (series aligned by
  timestamp); between a series and a scalar, on every point; on an array, on each of its series;
- a point that is not a finite number (`x / 0`, overflow) is dropped, and the result says so in its
  Messages (`ArithmeticError`), as AWS does;
- SUM/AVG/MIN/MAX of an array give one series (per timestamp, over the series that have a value
  there); of one series, a scalar;
- comparisons and AND/OR/NOT give 1 or 0; IF(condition, a[, b]) picks per timestamp;
- FILL fills every period of the requested range (a value, REPEAT or LINEAR); RATE and DIFF look at
  consecutive points; PERIOD(m) is the metric's period in seconds;
- METRICS() is every MetricStat query of the request, METRICS("text") those whose Id contains text.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

from edalab.plugins.cloudwatch.metric_math.parser import Array, Binary, Call, Name, Number, Text, Unary, parse
from edalab.plugins.cloudwatch.metric_math.series import DROPPED_POINTS, MathError, MetricSeries, period_starts

DEFAULT_PERIOD = 60


def _finite(value) -> float | None:
    if isinstance(value, complex) or value is None or not math.isfinite(value):
        return None
    return float(value)


def _safe(function: Callable) -> Callable:
    """The function, with a value that is not a finite number (or an arithmetic error) as None."""

    def safe(*args):
        try:
            return _finite(function(*args))
        except (ZeroDivisionError, OverflowError, ValueError):
            return None

    return safe


BINARY = {
    "+": _safe(operator.add),
    "-": _safe(operator.sub),
    "*": _safe(operator.mul),
    "/": _safe(operator.truediv),
    "^": _safe(operator.pow),
    "==": lambda a, b: float(a == b),
    "!=": lambda a, b: float(a != b),
    "<": lambda a, b: float(a < b),
    ">": lambda a, b: float(a > b),
    "<=": lambda a, b: float(a <= b),
    ">=": lambda a, b: float(a >= b),
    "AND": lambda a, b: float(bool(a) and bool(b)),
    "OR": lambda a, b: float(bool(a) or bool(b)),
}
ELEMENTWISE = {
    "ABS": _safe(abs),
    "CEIL": _safe(math.ceil),
    "FLOOR": _safe(math.floor),
    "SQRT": _safe(math.sqrt),
    "LOG": _safe(math.log),
    "LOG10": _safe(math.log10),
    "EXP": _safe(math.exp),
}
AGGREGATES = {
    "SUM": math.fsum,
    "AVG": lambda values: math.fsum(values) / len(values),
    "MIN": min,
    "MAX": max,
    "STDDEV": lambda values: math.sqrt(math.fsum((v - sum(values) / len(values)) ** 2 for v in values) / len(values)),
}


class _Evaluation:
    """One GetMetricData request's expressions, evaluated on demand (an expression may use another)."""

    def __init__(self, queries: list[dict], metrics: dict[str, MetricSeries], start: int, end: int):
        self.metric_order = [q["Id"] for q in queries if q["Id"] in metrics]
        self.metrics = metrics
        self.expressions = {q["Id"]: q["Expression"] for q in queries if q.get("Expression")}
        self.start, self.end = start, end
        self.results: dict[str, object] = {}
        self.in_progress: list[str] = []
        self.dropped = False

    # values of names -------------------------------------------------------------------------
    def value_of(self, query_id: str):
        if query_id in self.metrics:
            return self.metrics[query_id]
        if query_id not in self.expressions:
            raise MathError(f"Unrecognized identifier {query_id}: no query of the request has this Id.")
        if query_id in self.in_progress:
            chain = " -> ".join([*self.in_progress[self.in_progress.index(query_id):], query_id])
            raise MathError(f"Circular reference between expressions: {chain}.")
        if query_id not in self.results:
            self.in_progress.append(query_id)
            outer_dropped, self.dropped = self.dropped, False
            try:
                tree = parse(self.expressions[query_id])
                value = self.evaluate(tree)
                if isinstance(value, str):
                    raise MathError("The expression must give a number or time series, not a string.")
                self.results[query_id] = (value, self.dropped)
            except MathError as error:
                if str(error).startswith("Error in expression"):
                    raise
                raise MathError(f"Error in expression {query_id}: {error}") from None
            finally:
                self.in_progress.pop()
                self.dropped = outer_dropped
        value, dropped = self.results[query_id]
        self.dropped = self.dropped or dropped
        return value

    def evaluate(self, tree):
        if isinstance(tree, Number):
            return tree.value
        if isinstance(tree, Text):
            return tree.value
        if isinstance(tree, Name):
            if tree.id in ("REPEAT", "LINEAR"):
                raise MathError(f"{tree.id} can only be the second argument of FILL.")
            return self.value_of(tree.id)
        if isinstance(tree, Array):
            return [series for item in tree.items for series in self.as_array(self.evaluate(item))]
        if isinstance(tree, Unary):
            operand = self.evaluate(tree.operand)
            if tree.op == "-":
                return self.map(operand, _safe(operator.neg))
            return self.map(operand, lambda v: float(not v))
        if isinstance(tree, Binary):
            return self.combine(self.evaluate(tree.left), self.evaluate(tree.right), BINARY[tree.op], tree.op)
        if isinstance(tree, Call):
            return self.call(tree)
        raise MathError(f"Cannot evaluate {tree!r}.")  # pragma: no cover - the parser makes no other nodes

    # shapes ---------------------------------------------------------------------------------
    def as_array(self, value) -> list[MetricSeries]:
        if isinstance(value, MetricSeries):
            return [value]
        if isinstance(value, list):
            return value
        raise MathError("An array can only hold time series (metrics or expressions that give one).")

    def _numeric(self, value, what: str):
        if isinstance(value, str):
            raise MathError(f"A string cannot be used in {what}.")
        return value

    def map(self, value, function: Callable):
        """A function of one value applied to a scalar, every point of a series, or every series."""
        value = self._numeric(value, "arithmetic")
        if isinstance(value, list):
            return [self.map(series, function) for series in value]
        if isinstance(value, MetricSeries):
            points = {}
            for stamp, point in value.points.items():
                result = function(point)
                if result is None:
                    self.dropped = True
                else:
                    points[stamp] = result
            return MetricSeries(points, value.period, value.label)
        result = function(value)
        return math.nan if result is None else result

    def combine(self, left, right, function: Callable, symbol: str):
        """A binary operator: series aligned by timestamp, scalars on every point, arrays per series."""
        left, right = self._numeric(left, f"'{symbol}'"), self._numeric(right, f"'{symbol}'")
        if isinstance(left, list) and isinstance(right, list):
            raise MathError(f"'{symbol}' cannot combine two arrays of time series.")
        if isinstance(left, list):
            return [self.combine(series, right, function, symbol) for series in left]
        if isinstance(right, list):
            return [self.combine(left, series, function, symbol) for series in right]
        if isinstance(left, MetricSeries) and isinstance(right, MetricSeries):
            points = {}
            for stamp in sorted(left.points.keys() & right.points.keys()):
                result = function(left.points[stamp], right.points[stamp])
                if result is None:
                    self.dropped = True
                else:
                    points[stamp] = result
            return MetricSeries(points, min(left.period, right.period), left.label)
        if isinstance(left, MetricSeries):
            return self.map(left, lambda v: function(v, right) if not math.isnan(right) else None)
        if isinstance(right, MetricSeries):
            return self.map(right, lambda v: function(left, v) if not math.isnan(left) else None)
        if math.isnan(left) or math.isnan(right):
            return math.nan
        result = function(left, right)
        return math.nan if result is None else result

    # functions ------------------------------------------------------------------------------
    def call(self, tree: Call):
        name, args = tree.function, tree.args
        if name == "METRICS":
            return self.metrics_function(args)
        if name == "FILL":
            return self.fill(args)
        if name == "IF":
            return self.if_function(args)
        if name == "PERIOD":
            self.arity(name, args, 1)
            value = self.evaluate(args[0])
            if not isinstance(value, MetricSeries):
                raise MathError("PERIOD takes one metric.")
            return float(value.period)
        if name in ELEMENTWISE:
            self.arity(name, args, 1)
            return self.map(self.evaluate(args[0]), ELEMENTWISE[name])
        if name in ("RATE", "DIFF"):
            self.arity(name, args, 1)
            return self.consecutive(self.evaluate(args[0]), per_second=name == "RATE")
        if name in AGGREGATES:
            return self.aggregate(name, args)
        raise MathError(f"Unknown function {name}.")

    def arity(self, name: str, args: tuple, *allowed: int) -> None:
        if len(args) not in allowed:
            wanted = " or ".join(str(n) for n in allowed)
            raise MathError(f"{name} takes {wanted} argument(s), not {len(args)}.")

    def metrics_function(self, args: tuple) -> list[MetricSeries]:
        self.arity("METRICS", args, 0, 1)
        text = ""
        if args:
            if not isinstance(args[0], Text):
                raise MathError('METRICS takes no argument or a string: METRICS("errors").')
            text = args[0].value
        return [self.metrics[query_id] for query_id in self.metric_order if text in query_id]

    def aggregate(self, name: str, args: tuple):
        if not args:
            raise MathError(f"{name} needs an argument.")
        values = [self._numeric(self.evaluate(arg), name) for arg in args]
        function = AGGREGATES[name]
        if len(values) == 1 and isinstance(values[0], MetricSeries):
            points = list(values[0].points.values())
            return function(points) if points else math.nan
        if len(values) == 1 and isinstance(values[0], float):
            return values[0]
        series = [s for value in values for s in self.as_array(value)]
        if not series:
            return MetricSeries({}, DEFAULT_PERIOD, name)
        by_stamp: dict[int, list[float]] = {}
        for one in series:
            for stamp, point in one.points.items():
                by_stamp.setdefault(stamp, []).append(point)
        points = {stamp: function(found) for stamp, found in sorted(by_stamp.items())}
        return MetricSeries(points, min(s.period for s in series), name)

    def if_function(self, args: tuple):
        self.arity("IF", args, 2, 3)
        condition = self._numeric(self.evaluate(args[0]), "IF")
        when_true = self._numeric(self.evaluate(args[1]), "IF")
        when_false = self._numeric(self.evaluate(args[2]), "IF") if len(args) == 3 else None
        if isinstance(when_true, list) or isinstance(when_false, list):
            raise MathError("IF takes a time series or a scalar as its values, not an array.")
        if isinstance(condition, list):
            return [self.choose(series, when_true, when_false) for series in condition]
        return self.choose(condition, when_true, when_false)

    def choose(self, condition, when_true, when_false):
        if not isinstance(condition, MetricSeries):
            chosen = when_true if condition and not math.isnan(condition) else when_false
            return math.nan if chosen is None else chosen
        points = {}
        for stamp, flag in condition.points.items():
            chosen = when_true if flag else when_false
            if isinstance(chosen, MetricSeries):
                chosen = chosen.points.get(stamp)
            if chosen is not None and not math.isnan(chosen):
                points[stamp] = chosen
        return MetricSeries(points, condition.period, condition.label)

    def fill(self, args: tuple):
        self.arity("FILL", args, 2)
        target = self._numeric(self.evaluate(args[0]), "FILL")
        how = args[1].id if isinstance(args[1], Name) and args[1].id in ("REPEAT", "LINEAR") else None
        filler = None if how else self._numeric(self.evaluate(args[1]), "FILL")
        if isinstance(filler, list):
            raise MathError("FILL fills with a scalar, a time series, REPEAT or LINEAR, not an array.")
        if isinstance(target, list):
            return [self.fill_series(series, how, filler) for series in target]
        if not isinstance(target, MetricSeries):
            raise MathError("FILL's first argument must be a time series or an array of them.")
        return self.fill_series(target, how, filler)

    def fill_series(self, series: MetricSeries, how: str | None, filler) -> MetricSeries:
        points = dict(series.points)
        known = sorted(points)
        for stamp in period_starts(self.start, self.end, series.period):
            if stamp in points:
                continue
            before = [s for s in known if s < stamp]
            after = [s for s in known if s > stamp]
            if how in ("REPEAT", "LINEAR") and not known:
                continue
            if how == "REPEAT":
                points[stamp] = series.points[before[-1] if before else after[0]]
            elif how == "LINEAR":
                if before and after:
                    low, high = before[-1], after[0]
                    share = (stamp - low) / (high - low)
                    points[stamp] = series.points[low] + share * (series.points[high] - series.points[low])
                else:
                    points[stamp] = series.points[before[-1] if before else after[0]]
            elif isinstance(filler, MetricSeries):
                if stamp in filler.points:
                    points[stamp] = filler.points[stamp]
            elif not math.isnan(filler):
                points[stamp] = filler
        return MetricSeries(dict(sorted(points.items())), series.period, series.label)

    def consecutive(self, value, per_second: bool):
        """DIFF: each value minus the one before; RATE: that difference per second between them."""
        value = self._numeric(value, "RATE/DIFF")
        if isinstance(value, list):
            return [self.consecutive(series, per_second) for series in value]
        if not isinstance(value, MetricSeries):
            raise MathError("RATE and DIFF take a time series.")
        stamps = sorted(value.points)
        points = {}
        for previous, stamp in zip(stamps, stamps[1:], strict=False):
            change = value.points[stamp] - value.points[previous]
            points[stamp] = change / (stamp - previous) if per_second else change
        return MetricSeries(points, value.period, value.label)

    # results --------------------------------------------------------------------------------
    def result_series(self, query: dict) -> list[MetricSeries]:
        """What one query returns: its series (an array gives several), labelled as AWS labels them."""
        query_id = query["Id"]
        if query_id in self.metrics:
            return [self.metrics[query_id]]
        value = self.value_of(query_id)
        _, dropped = self.results[query_id]
        label = query.get("Label")
        if isinstance(value, list):
            out = [MetricSeries(s.points, s.period, f"{label} {s.label}" if label else s.label) for s in value]
        elif isinstance(value, MetricSeries):
            out = [MetricSeries(value.points, value.period, label or query_id)]
        else:  # a scalar holds at every period of the range
            period = min((m.period for m in self.metrics.values()), default=DEFAULT_PERIOD)
            stamps = [] if math.isnan(value) else period_starts(self.start, self.end, period)
            out = [MetricSeries(dict.fromkeys(stamps, value), period, label or query_id)]
        if dropped:
            for series in out:
                series.messages.append(DROPPED_POINTS)
        return out


def evaluate_queries(
    queries: list[dict], metrics: dict[str, MetricSeries], start: int, end: int
) -> dict[str, list[MetricSeries]]:
    """Every query's series by Id: metrics as read, expressions evaluated over them.
    `metrics` holds the MetricStat queries' series; start and end are unix seconds."""
    evaluation = _Evaluation(queries, metrics, start, end)
    return {query["Id"]: evaluation.result_series(query) for query in queries}

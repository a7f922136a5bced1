"""Metric filters as AWS runs them: a log group's own filters turn its matching events into data points.

On AWS a metric filter (PutMetricFilter) watches only its own log group. For each event its
pattern matches, it publishes `metricValue` (a number, or the field `$.path` of a JSON pattern or
`$name` of a space-delimited one), with `dimensions` read from the event's fields (at most 3),
`unit`, and the event's own timestamp; for each event it does not match it publishes
`defaultValue` when one is set. LocalStack's community provider published 1 for every event put
to any log group of the region, with no dimensions and the time of the call.

`samples(filters, events)` computes the data points of one PutLogEvents call (pure, testable
without an engine); `publish(...)` hands them to the engine's metric batcher
(edalab/plugins/metric_batches.py), which sends them within a second in as few calls as it can.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from edalab.plugins.logs.filter_pattern import InvalidFilterPattern, LogMessage, Match, compile_pattern
from edalab.plugins.metric_batches import MetricBatcher, shared_batcher

MAX_DIMENSIONS = 3


class InvalidMetricFilter(ValueError):
    """A metric filter AWS refuses; the message says why."""


def validate(filter_pattern: str, transformations: list[dict]) -> None:
    """Raise InvalidMetricFilter for a metric filter AWS would refuse (pattern, value, dimensions)."""
    try:
        pattern = compile_pattern(filter_pattern)
    except InvalidFilterPattern as error:
        raise InvalidMetricFilter(f"Invalid metric filter pattern: {error}") from None
    for transformation in transformations:
        dimensions = transformation.get("dimensions") or {}
        if dimensions and not pattern.has_fields:
            raise InvalidMetricFilter("The specified filter pattern does not support dimensions")
        if len(dimensions) > MAX_DIMENSIONS:
            raise InvalidMetricFilter(f"A metric filter can have at most {MAX_DIMENSIONS} dimensions")
        if dimensions and transformation.get("defaultValue") is not None:
            raise InvalidMetricFilter("A metric transformation with dimensions cannot have a defaultValue")
        value = transformation.get("metricValue", "")
        if value.startswith("$") and not pattern.has_fields:
            raise InvalidMetricFilter(f"Invalid metric value {value}: only JSON and space-delimited patterns name fields")
        if not value.startswith("$") and _number(value) is None:
            raise InvalidMetricFilter(f"Invalid metric value {value!r}: a number, $.path or $field")
        for selector in dimensions.values():
            if not selector.startswith("$"):
                raise InvalidMetricFilter(f"Invalid dimension value {selector}: it must name a field ($.path or $name)")


@dataclass(frozen=True)
class Sample:
    """One data point a metric filter publishes for one event."""

    namespace: str
    metric: str
    value: float
    timestamp: datetime
    unit: str = "None"
    dimensions: tuple[tuple[str, str], ...] = ()


def samples(filters: Iterable[dict], events: list[dict]) -> list[Sample]:
    """The data points `filters` publish for `events` ({timestamp, message}) of their log group."""
    found: list[Sample] = []
    messages = [LogMessage(event["message"]) for event in events]
    for metric_filter in filters:
        pattern = compile_pattern(metric_filter.get("filterPattern", ""))
        for transformation in metric_filter.get("metricTransformations", []):
            for event, message in zip(events, messages):
                sample = _sample(transformation, pattern(message), event["timestamp"])
                if sample is not None:
                    found.append(sample)
    return found


def _sample(transformation: dict, match: Match | None, timestamp_ms: int) -> Sample | None:
    dimensions: tuple[tuple[str, str], ...] = ()
    if match is None:
        if transformation.get("defaultValue") is None:
            return None
        value = float(transformation["defaultValue"])
    else:
        value = _value(transformation.get("metricValue", "1"), match)
        wanted = transformation.get("dimensions") or {}
        dimensions = tuple((name, str(_scalar(match.value(selector)))) for name, selector in wanted.items()
                           if match.value(selector) is not None)
        if value is None or len(dimensions) != len(wanted):
            return None  # the field is missing or not a number: AWS publishes nothing for the event
    return Sample(namespace=transformation["metricNamespace"], metric=transformation["metricName"], value=value,
                  timestamp=datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC),
                  unit=transformation.get("unit") or "None", dimensions=dimensions)


def _value(metric_value: str, match: Match) -> float | None:
    if metric_value.startswith("$"):
        return _number(match.value(metric_value))
    return _number(metric_value)


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def publish(account_id: str, region: str, found: list[Sample], batcher: MetricBatcher | None = None) -> None:
    """Hand the data points to the engine's metric batcher, which sends equal samples of a series
    (same second) as one datum with Values and Counts, once a second: CloudWatch stores each
    data point LocalStack receives with its own sqlite commit, so one datum per event would
    bound PutLogEvents to a few hundred events a second."""
    batcher = batcher or shared_batcher()
    for sample in found:
        batcher.add(account_id, region, sample.namespace, sample.metric, sample.value, unit=sample.unit,
                    dimensions=sample.dimensions, timestamp=sample.timestamp.replace(microsecond=0))

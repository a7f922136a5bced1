"""Metric filters as AWS runs them: a log group's own filters turn its matching events into data points.

On AWS a metric filter (PutMetricFilter) watches only its own log group. For each event its
pattern matches, it publishes `metricValue` (a number, or the field `$.path` of a JSON pattern or
`$name` of a space-delimited one), with `dimensions` read from the event's fields (at most 3),
`unit`, and the event's own timestamp; for each event it does not match it publishes
`defaultValue` when one is set. LocalStack's community provider published 1 for every event put
to any log group of the region, with no dimensions and the time of the call.

`metric_data(filters, events)` computes the data points of one PutLogEvents call (pure, testable
without an engine); `publish(...)` sends them to CloudWatch in as few calls as it can.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timezone

from edalab.plugins.logs.filter_pattern import InvalidFilterPattern, LogMessage, Match, compile_pattern

LOG = logging.getLogger(__name__)

MAX_DIMENSIONS = 3
DATUMS_PER_CALL = 1000  # PutMetricData's limit of MetricData members


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


def metric_data(filters: Iterable[dict], events: list[dict]) -> dict[str, list[dict]]:
    """PutMetricData members per namespace for `events` ({timestamp, message}) under `filters`."""
    by_namespace: dict[str, list[dict]] = defaultdict(list)
    messages = [LogMessage(event["message"]) for event in events]
    for metric_filter in filters:
        pattern = compile_pattern(metric_filter.get("filterPattern", ""))
        for transformation in metric_filter.get("metricTransformations", []):
            namespace = transformation["metricNamespace"]
            for event, message in zip(events, messages):
                datum = _datum(transformation, pattern(message), event["timestamp"])
                if datum is not None:
                    by_namespace[namespace].append(datum)
    return by_namespace


def _datum(transformation: dict, match: Match | None, timestamp_ms: int) -> dict | None:
    if match is None:
        if transformation.get("defaultValue") is None:
            return None
        value, dimensions = float(transformation["defaultValue"]), []
    else:
        value = _value(transformation.get("metricValue", "1"), match)
        dimensions = [{"Name": name, "Value": str(_scalar(match.value(selector)))}
                      for name, selector in (transformation.get("dimensions") or {}).items()
                      if match.value(selector) is not None]
        if value is None or len(dimensions) != len(transformation.get("dimensions") or {}):
            return None  # the field is missing or not a number: AWS publishes nothing for the event
    datum = {"MetricName": transformation["metricName"], "Value": value,
             "Timestamp": datetime.fromtimestamp(timestamp_ms / 1000, tz=timezone.utc)}
    if dimensions:
        datum["Dimensions"] = dimensions
    if transformation.get("unit"):
        datum["Unit"] = transformation["unit"]
    return datum


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


def publish(cloudwatch, by_namespace: dict[str, list[dict]]) -> None:
    """Send the data points with as few PutMetricData calls as the API's limit allows."""
    for namespace, data in by_namespace.items():
        for start in range(0, len(data), DATUMS_PER_CALL):
            try:
                cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start:start + DATUMS_PER_CALL])
            except Exception:  # a metric lost must not fail the PutLogEvents that caused it
                LOG.exception("metric filter data for namespace %s not published", namespace)

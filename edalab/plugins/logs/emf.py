"""Reads CloudWatch Embedded Metric Format (EMF) documents out of log messages.

Why this exists: on AWS, a log event whose message is an EMF document (a JSON object whose
`_aws` member holds `Timestamp` and `CloudWatchMetrics`) becomes CloudWatch metrics, with no
PutMetricData call; it is what Powertools `Metrics` prints. LocalStack stores such lines as
plain text. This module is the pure part: message in, data points out (no engine needed).

What it follows, from AWS's "Specification: Embedded metric format":
- the root is a JSON object; on Lambda, text before the object (timestamp, request id) is
  allowed ("a valid embedded metric format document after this metadata is considered valid");
- `_aws.Timestamp`: milliseconds since the epoch (a number); `_aws.CloudWatchMetrics`: an array
  of MetricDirectives, each with `Namespace` (1-255 characters), `Dimensions` (an array of
  DimensionSets: arrays of at most 30 member names, possibly empty) and `Metrics` (at most 100
  MetricDefinitions: `Name`, optional `Unit` from CloudWatch's units, optional
  `StorageResolution` 1 or 60);
- each dimension name refers to a root member holding a string (the dimension value); each
  metric name to a root member holding a number or an array of at most 100 numbers (one
  sample each);
- every DimensionSet of a directive gives each of its metrics one series.
A document that breaks the structure is not EMF: no metrics, and the log event is stored as
it is (AWS counts it in EMFValidationErrors). A metric whose member is absent or not numeric is
skipped. Timestamps CloudWatch would refuse (over 14 days old, over 2 hours ahead) give none.
The rules are written here because no maintained Python library parses EMF (Powertools and
aws-embedded-metrics only write it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from localstack.aws.api.cloudwatch import StandardUnit

_UNITS = frozenset(unit.value for unit in StandardUnit)
_MAX_DIMENSIONS = 30
_MAX_METRICS = 100
_MAX_VALUES = 100
_MAX_DIMENSION_VALUE = 1024
_OLDEST = timedelta(days=14)
_FURTHEST_AHEAD = timedelta(hours=2)


@dataclass(frozen=True)
class EmfDatum:
    """One metric of one DimensionSet of an EMF document: its samples and where they go."""

    namespace: str
    name: str
    unit: str
    storage_resolution: int
    dimensions: tuple[tuple[str, str], ...]
    values: tuple[float, ...]
    timestamp: datetime


class NotEmf(ValueError):
    """The message is not a valid EMF document (its metrics are not extracted)."""


def _document(message: str) -> dict | None:
    if '"_aws"' not in message:  # the cheap test that keeps ordinary log lines fast
        return None
    text = message.strip()
    start = text.find("{")
    if start < 0:
        return None
    try:
        document = json.loads(text[start:])
    except ValueError:
        return None
    return document if isinstance(document, dict) and "_aws" in document else None


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _require(condition: bool, problem: str) -> None:
    if not condition:
        raise NotEmf(problem)


def _timestamp(metadata: dict) -> datetime:
    milliseconds = metadata.get("Timestamp")
    _require(_is_number(milliseconds) and milliseconds >= 0, "_aws.Timestamp must be milliseconds since the epoch")
    return datetime.fromtimestamp(milliseconds / 1000, UTC)


def _dimension_sets(directive: dict, document: dict) -> list[tuple[tuple[str, str], ...]]:
    sets = directive.get("Dimensions")
    _require(isinstance(sets, list), "Dimensions must be an array of DimensionSets")
    result = []
    for names in sets:
        _require(isinstance(names, list) and len(names) <= _MAX_DIMENSIONS,
                 f"a DimensionSet is an array of at most {_MAX_DIMENSIONS} names")
        pairs = []
        for name in names:
            value = document.get(name) if isinstance(name, str) else None
            _require(isinstance(value, str) and 0 < len(value) <= _MAX_DIMENSION_VALUE,
                     f"dimension {name!r} must name a root member holding a string")
            pairs.append((name, value))
        result.append(tuple(pairs))
    return result or [()]


def _definitions(directive: dict) -> list[tuple[str, str, int]]:
    metrics = directive.get("Metrics")
    _require(isinstance(metrics, list) and len(metrics) <= _MAX_METRICS,
             f"Metrics must be an array of at most {_MAX_METRICS} MetricDefinitions")
    result = []
    for definition in metrics:
        _require(isinstance(definition, dict), "a MetricDefinition is an object")
        name = definition.get("Name")
        unit = definition.get("Unit", "None")
        resolution = definition.get("StorageResolution", 60)
        _require(isinstance(name, str) and 0 < len(name) <= 1024, "a MetricDefinition needs a Name")
        _require(unit in _UNITS, f"Unit {unit!r} is not a CloudWatch unit")
        _require(resolution in (1, 60) and not isinstance(resolution, bool), "StorageResolution must be 1 or 60")
        result.append((name, unit, resolution))
    return result


def _values(member) -> tuple[float, ...]:
    if _is_number(member):
        return (float(member),)
    if isinstance(member, list) and 0 < len(member) <= _MAX_VALUES and all(_is_number(v) for v in member):
        return tuple(float(v) for v in member)
    return ()


def parse_emf(message: str) -> list[EmfDatum]:
    """The data points of the EMF document in `message`; [] when it holds none.

    Raises NotEmf when the message has an `_aws` member but breaks the specification."""
    document = _document(message)
    if document is None:
        return []
    metadata = document["_aws"]
    _require(isinstance(metadata, dict), "_aws must be an object")
    timestamp = _timestamp(metadata)
    directives = metadata.get("CloudWatchMetrics")
    _require(isinstance(directives, list), "_aws.CloudWatchMetrics must be an array")
    data = []
    for directive in directives:
        _require(isinstance(directive, dict), "a MetricDirective is an object")
        namespace = directive.get("Namespace")
        _require(isinstance(namespace, str) and 0 < len(namespace) <= 255 and not namespace.startswith("AWS/"),
                 "Namespace must be 1-255 characters and not start with AWS/")
        dimension_sets = _dimension_sets(directive, document)
        for name, unit, resolution in _definitions(directive):
            values = _values(document.get(name))
            if not values:
                continue
            data.extend(EmfDatum(namespace, name, unit, resolution, dimensions, values, timestamp)
                        for dimensions in dimension_sets)
    return data


def emf_data(message: str, now: datetime | None = None) -> list[EmfDatum]:
    """What CloudWatch Logs extracts from `message`: its EMF data points, or [] (not EMF,
    invalid EMF, or a timestamp CloudWatch would refuse)."""
    try:
        data = parse_emf(message)
    except NotEmf:
        return []
    now = now or datetime.now(UTC)
    return [d for d in data if now - _OLDEST <= d.timestamp <= now + _FURTHEST_AHEAD]

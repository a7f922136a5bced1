"""Reading metric data as AWS does: one metric is a namespace, a name and its FULL set of dimensions.

AWS: "CloudWatch treats each unique combination of dimensions as a separate metric. If a specific
combination of dimensions was not published, you can't retrieve statistics for it" (CloudWatch
concepts, Dimensions). LocalStack's `cloudwatch_database_helper.py` looks dimensions up with
`LIKE '%Name=Value%'`, so `QueueName=orders` also sums `orders-dlq` and every series that has more
dimensions; it has no percentiles and no metric math (an `Expression` query answers 500).

This module reads LocalStack's own sqlite store (the rows PutMetricData wrote) with the whole
dimension set compared equal, buckets samples by period, computes the statistics (SampleCount, Sum,
Average, Minimum, Maximum and percentiles `pNN`) and evaluates metric math through `metric_math`.

`metric_data_results(...)` is the one entry point for alarm evaluation: it returns the
`MetricDataResults` list GetMetricData would, honouring ReturnData. Bad queries raise
`MetricQueryError`, which the provider answers as AWS's 400 ValidationError.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime

from edalab.plugins.cloudwatch.metric_math import MathError, MetricSeries, evaluate_queries
from edalab.plugins.cloudwatch.metric_math.series import first_bucket

STANDARD_STATISTICS = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")
PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d{1,10})?|100(?:\.0{1,10})?)$")
METRIC_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
NO_UNIT = "None"  # what AWS calls data put without a Unit; LocalStack stores it as NULL


class MetricQueryError(ValueError):
    """A request AWS refuses with a 400 ValidationError; the message says what is wrong."""


PERIOD_RULE = "must be 1, 5, 10, 20, 30, or a multiple of 60 (seconds)"


def valid_period(period) -> bool:
    """AWS's periods: high resolution 1, 5, 10, 20 or 30 seconds, otherwise whole minutes."""
    try:
        seconds = int(period)
    except (TypeError, ValueError):
        return False
    return seconds in (1, 5, 10, 20, 30) or (seconds > 0 and seconds % 60 == 0)


def is_statistic(stat: str) -> bool:
    """True for the statistics this engine computes: the five standard ones and percentiles pNN."""
    return stat in STANDARD_STATISTICS or bool(PERCENTILE.match(stat or ""))


def dimension_key(dimensions: Iterable[dict] | None) -> str | None:
    """The stored form of a dimension set, as LocalStack writes it: sorted by name,
    `Name=Value` each followed by a tab; None for no dimensions."""
    pairs = sorted((d["Name"], d.get("Value", "")) for d in dimensions or [])
    return "".join(f"{name}={value}\t" for name, value in pairs) or None


def dimensions_from_key(key: str | None) -> list[dict]:
    """The dimension list back from its stored form (a value may hold '=')."""
    dims = []
    for pair in (key or "").split("\t"):
        if pair:
            name, _, value = pair.partition("=")
            dims.append({"Name": name, "Value": value})
    return dims


def metrics_database() -> str:
    """The read-only URI of LocalStack's metric store (it lives under the engine's data dir)."""
    from localstack.services.cloudwatch.cloudwatch_database_helper import CloudwatchDatabase

    return CloudwatchDatabase.METRICS_DB_READ_ONLY


def read_store(sql: str, params: list) -> list[tuple]:
    """The rows of one read-only query of LocalStack's metric store (none before anything was put)."""
    try:
        connection = sqlite3.connect(metrics_database(), uri=True, timeout=10)
    except sqlite3.OperationalError:  # nothing was ever put: no database yet
        return []
    with closing(connection):
        return connection.execute(sql, params).fetchall()


def unix(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


@dataclass
class Samples:
    """The samples of one metric in one period: raw values and statistic sets."""

    values: list[float] = field(default_factory=list)
    sets: list[tuple[float, float, float, float]] = field(default_factory=list)  # count, sum, min, max

    def statistic(self, stat: str) -> float | None:
        count = len(self.values) + sum(s[0] for s in self.sets)
        if not count:
            return None
        if stat == "SampleCount":
            return float(count)
        if stat in ("Sum", "Average"):
            total = math.fsum(self.values) + math.fsum(s[1] for s in self.sets)
            return total if stat == "Sum" else total / count
        if stat == "Minimum":
            return float(min([*self.values, *(s[2] for s in self.sets)]))
        if stat == "Maximum":
            return float(max([*self.values, *(s[3] for s in self.sets)]))
        if match := PERCENTILE.match(stat):
            return self._percentile(float(match.group(1)))
        raise MetricQueryError(f"The statistic {stat} is not supported.")

    def _percentile(self, rank: float) -> float | None:
        """Nearest-rank percentile over the raw values. A statistic set counts only when it stands
        for equal values (AWS: percentiles of a statistic set need Minimum == Maximum)."""
        values = list(self.values)
        for count, total, low, high in self.sets:
            if low != high or not math.isclose(total, low * count):
                return None  # AWS cannot compute percentiles for this data either
            values.extend([low] * int(count))
        if not values:
            return None
        values.sort()
        position = max(math.ceil(rank / 100 * len(values)), 1)
        return float(values[position - 1])


def read_buckets(
    account_id: str, region: str, namespace: str, metric_name: str, dimensions: list[dict] | None,
    start: datetime, end: datetime, period: int, unit: str | None = None,
) -> dict[str | None, dict[int, Samples]]:
    """Samples of exactly this metric (this dimension set, no more, no less) between start
    (inclusive) and end (exclusive), by unit and by period start. `unit=None` reads every unit."""
    first, stop = first_bucket(unix(start), period), unix(end)
    key = dimension_key(dimensions)
    where = "account_id = ? AND region = ? AND namespace = ? AND metric_name = ? AND timestamp >= ? AND timestamp < ?"
    params: list = [account_id, region, namespace, metric_name, first, stop]
    where += " AND dimensions IS NULL" if key is None else " AND dimensions = ?"
    params += [] if key is None else [key]
    if unit == NO_UNIT:
        where += " AND (unit IS NULL OR unit = 'None')"
    elif unit:
        where += " AND unit = ?"
        params.append(unit)
    buckets: dict[str | None, dict[int, Samples]] = defaultdict(lambda: defaultdict(Samples))
    for timestamp, row_unit, value in read_store(
        f"SELECT timestamp, unit, value FROM SINGLE_METRICS WHERE {where}", params
    ):
        bucket = first + (int(timestamp) - first) // period * period
        buckets[row_unit or NO_UNIT][bucket].values.append(float(value))
    for timestamp, row_unit, count, total, low, high in read_store(
        f"SELECT timestamp, unit, sample_count, sum, min, max FROM AGGREGATED_METRICS WHERE {where}", params
    ):
        bucket = first + (int(timestamp) - first) // period * period
        buckets[row_unit or NO_UNIT][bucket].sets.append((float(count), float(total), float(low), float(high)))
    return buckets


def metric_stat_series(account_id: str, region: str, query: dict, start: datetime, end: datetime) -> MetricSeries:
    """The time series of one `MetricStat` query: its statistic per period, every unit together
    unless the query names one."""
    stat_spec = query["MetricStat"]
    metric, period, stat = stat_spec["Metric"], int(stat_spec["Period"]), stat_spec["Stat"]
    by_unit = read_buckets(
        account_id, region, metric.get("Namespace"), metric.get("MetricName"), metric.get("Dimensions"),
        start, end, period, stat_spec.get("Unit"),
    )
    merged: dict[int, Samples] = defaultdict(Samples)
    for buckets in by_unit.values():
        for bucket, samples in buckets.items():
            merged[bucket].values.extend(samples.values)
            merged[bucket].sets.extend(samples.sets)
    points = {}
    for bucket, samples in merged.items():
        value = samples.statistic(stat)
        if value is not None:
            points[bucket] = value
    return MetricSeries(points=points, period=period, label=metric.get("MetricName") or query["Id"])


def _validate(queries: list[dict], strict_ids: bool) -> None:
    seen = set()
    for number, query in enumerate(queries, start=1):
        where = f"MetricDataQueries.member.{number}"
        query_id = query.get("Id") or ""
        if not query_id or (strict_ids and not METRIC_ID.match(query_id)):
            raise MetricQueryError(
                f"The value {query_id} for parameter {where}.Id is not valid: "
                "it must start with a lowercase letter and hold only letters, digits and underscores."
            )
        if query_id in seen:
            raise MetricQueryError(f"The values for parameter Id in MetricDataQueries are not unique: {query_id}.")
        seen.add(query_id)
        if bool(query.get("MetricStat")) == bool(query.get("Expression")):
            raise MetricQueryError(
                f"Exactly one element of the MetricStat, Expression or SQL fields must be specified in {where}."
            )
        if stat_spec := query.get("MetricStat"):
            if not is_statistic(stat_spec.get("Stat", "")):
                raise MetricQueryError(
                    f"The value {stat_spec.get('Stat')} for parameter {where}.MetricStat.Stat is not valid."
                )
            if not valid_period(stat_spec.get("Period")):
                raise MetricQueryError(f"The parameter {where}.MetricStat.Period {PERIOD_RULE}.")


def _label_differences(queries: list[dict]) -> list[str]:
    """LocalStack's label rule, kept: when metrics differ in Stat or Period, the label says which."""
    stats = [q["MetricStat"] for q in queries if q.get("MetricStat")]
    return [part for part in ("Stat", "Period") if len({str(s.get(part)) for s in stats}) > 1]


def metric_data_results(
    account_id: str, region: str, queries: list[dict], start: datetime, end: datetime,
    scan_by: str = "TimestampDescending", strict_ids: bool = True,
) -> list[dict]:
    """The `MetricDataResults` GetMetricData answers for these queries (dicts shaped as the API's
    MetricDataQuery), one result per returned series, ReturnData honoured, newest first unless
    scan_by is "TimestampAscending". Raises MetricQueryError for a query AWS would refuse.
    `strict_ids=False` accepts any non-empty Id (LocalStack's own alarm scheduler uses alarm names)."""
    if unix(start) >= unix(end):
        raise MetricQueryError("The parameter StartTime must be less than the parameter EndTime.")
    _validate(queries, strict_ids)
    metrics = {
        q["Id"]: metric_stat_series(account_id, region, q, start, end) for q in queries if q.get("MetricStat")
    }
    for query in queries:
        if query.get("MetricStat") and query.get("Label"):
            metrics[query["Id"]].label = query["Label"]
    label_additions = _label_differences(queries)
    for query in queries:
        if query.get("MetricStat") and not query.get("Label"):
            for part in label_additions:
                metrics[query["Id"]].label += f" {query['MetricStat'][part]}"
    try:
        evaluated = evaluate_queries(queries, metrics, unix(start), unix(end))
    except MathError as error:
        raise MetricQueryError(str(error)) from error
    results = []
    descending = scan_by != "TimestampAscending"
    for query in queries:
        if query.get("ReturnData") is False:
            continue
        for series in evaluated[query["Id"]]:
            stamps = sorted(series.points, reverse=descending)
            result = {
                "Id": query["Id"],
                "Label": series.label,
                "Timestamps": [datetime.fromtimestamp(t, tz=UTC) for t in stamps],
                "Values": [float(series.points[t]) for t in stamps],
                "StatusCode": "Complete",
                "Messages": [{"Code": code, "Value": text} for code, text in series.messages],
            }
            results.append(result)
    return results

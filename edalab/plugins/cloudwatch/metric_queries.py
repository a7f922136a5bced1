"""Mixin of the CloudWatch provider: exact dimension matching and metric math in metric queries.

AWS identifies a metric by namespace, name and its full set of dimensions; GetMetricStatistics and
GetMetricData return only the series whose dimension set equals the one asked for, and
GetMetricData evaluates metric math expressions. LocalStack's provider_v2 matches dimensions as
substrings (`QueueName=orders` also sums `orders-dlq` and series with extra dimensions), ignores
ExtendedStatistics (percentiles), answers 500 to an `Expression`, and ListMetrics' dimension
filter is a substring too. The reading and the math live in `metric_data` and `metric_math`;
this module only turns the API's requests and answers into and out of them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from localstack.aws.api import RequestContext
from localstack.aws.api.cloudwatch import (
    AccountId,
    Datapoint,
    DimensionFilters,
    Dimensions,
    ExtendedStatistics,
    GetMetricDataMaxDatapoints,
    GetMetricDataOutput,
    GetMetricStatisticsOutput,
    IncludeLinkedAccounts,
    InvalidParameterCombinationException,
    InvalidParameterValueException,
    LabelOptions,
    ListMetricsOutput,
    MetricDataQueries,
    MetricName,
    Namespace,
    NextToken,
    Period,
    RecentlyActive,
    ScanBy,
    StandardUnit,
    Statistics,
    Timestamp,
)
from localstack.services.cloudwatch.provider_v2 import ValidationException
from localstack.utils.collections import PaginatedList

from edalab.plugins.cloudwatch.metric_data import (
    NO_UNIT,
    PERIOD_RULE,
    PERCENTILE,
    STANDARD_STATISTICS,
    MetricQueryError,
    dimensions_from_key,
    metric_data_results,
    read_buckets,
    read_store,
    unix,
    valid_period,
)

MAX_DATAPOINTS_PER_STATISTICS_CALL = 1440
DEFAULT_MAX_DATAPOINTS = 100_800
LIST_METRICS_PAGE = 500
LISTED_FOR = timedelta(days=14)  # AWS: ListMetrics shows metrics with data in the past two weeks
RECENTLY_ACTIVE = timedelta(hours=3)  # RecentlyActive=PT3H


class MetricQueries:
    """GetMetricData, GetMetricStatistics and ListMetrics, answered before LocalStack's provider."""

    def get_metric_data(
        self,
        context: RequestContext,
        metric_data_queries: MetricDataQueries,
        start_time: Timestamp,
        end_time: Timestamp,
        next_token: NextToken = None,
        scan_by: ScanBy = None,
        max_datapoints: GetMetricDataMaxDatapoints = None,
        label_options: LabelOptions = None,
        **kwargs,
    ) -> GetMetricDataOutput:
        try:
            results = metric_data_results(
                context.account_id, context.region, [dict(q) for q in metric_data_queries],
                start_time, end_time, scan_by or "TimestampDescending",
                strict_ids=not context.is_internal_call,  # LocalStack's alarm scheduler uses alarm names as Ids
            )
        except MetricQueryError as error:
            raise ValidationException(str(error)) from None
        page, following = _paginate(results, next_token, max_datapoints or DEFAULT_MAX_DATAPOINTS)
        return GetMetricDataOutput(MetricDataResults=page, NextToken=following, Messages=[])

    def get_metric_statistics(
        self,
        context: RequestContext,
        namespace: Namespace,
        metric_name: MetricName,
        start_time: Timestamp,
        end_time: Timestamp,
        period: Period,
        dimensions: Dimensions = None,
        statistics: Statistics = None,
        extended_statistics: ExtendedStatistics = None,
        unit: StandardUnit = None,
        **kwargs,
    ) -> GetMetricStatisticsOutput:
        _validate_statistics_request(start_time, end_time, period, statistics, extended_statistics)
        by_unit = read_buckets(
            context.account_id, context.region, namespace, metric_name, dimensions,
            start_time, end_time, period, unit,
        )
        datapoints = []
        for found_unit, buckets in by_unit.items():
            for bucket, samples in sorted(buckets.items()):
                point = Datapoint(Timestamp=datetime.fromtimestamp(bucket, tz=UTC), Unit=found_unit or NO_UNIT)
                for stat in statistics or []:
                    point[stat] = samples.statistic(stat)
                if extended_statistics:
                    extended = {stat: samples.statistic(stat) for stat in extended_statistics}
                    point["ExtendedStatistics"] = {k: v for k, v in extended.items() if v is not None}
                datapoints.append(point)
        return GetMetricStatisticsOutput(Datapoints=datapoints, Label=metric_name)

    def list_metrics(
        self,
        context: RequestContext,
        namespace: Namespace = None,
        metric_name: MetricName = None,
        dimensions: DimensionFilters = None,
        next_token: NextToken = None,
        recently_active: RecentlyActive = None,
        include_linked_accounts: IncludeLinkedAccounts = None,
        owning_account: AccountId = None,
        **kwargs,
    ) -> ListMetricsOutput:
        if recently_active and recently_active != "PT3H":
            raise InvalidParameterValueException(
                f"The value {recently_active} for parameter RecentlyActive is not valid: the only value is PT3H."
            )
        since = datetime.now(UTC) - (RECENTLY_ACTIVE if recently_active else LISTED_FOR)
        metrics = [
            metric for metric in _stored_metrics(context.account_id, context.region, namespace, metric_name, since)
            if _has_dimensions(metric.get("Dimensions") or [], dimensions or [])
        ]
        page, following = PaginatedList(metrics).get_page(
            lambda m: f"{m['Namespace']}-{m['MetricName']}-{m.get('Dimensions')}",
            next_token=next_token, page_size=LIST_METRICS_PAGE,
        )
        return ListMetricsOutput(Metrics=page, NextToken=following)


def _paginate(results: list[dict], next_token: str | None, limit: int) -> tuple[list[dict], str | None]:
    """One page of at most `limit` data points, the results taken in order: the NextToken is how
    many points earlier pages held; a result cut short says PartialData, as AWS does."""
    try:
        skip = int(next_token or 0)
    except ValueError:
        raise InvalidParameterValueException(f"The value {next_token} for parameter NextToken is not valid.") from None
    page, seen, taken = [], 0, 0
    for result in results:
        size = len(result["Values"])
        start = min(max(skip - seen, 0), size)
        end = min(size, start + limit - taken)
        seen += size
        cut = dict(result, Timestamps=result["Timestamps"][start:end], Values=result["Values"][start:end])
        if end < size:
            cut["StatusCode"] = "PartialData"
        taken += end - start
        page.append(cut)
    return page, (str(skip + taken) if skip + taken < seen else None)


def _validate_statistics_request(start_time, end_time, period, statistics, extended_statistics) -> None:
    if not unix(start_time) < unix(end_time):
        raise InvalidParameterValueException("The parameter StartTime must be less than the parameter EndTime.")
    if not valid_period(period):
        raise InvalidParameterValueException(f"The parameter Period {PERIOD_RULE}.")
    if not statistics and not extended_statistics:
        raise InvalidParameterCombinationException(
            "Must specify either Statistics or ExtendedStatistics, but not both."
        )
    if statistics and extended_statistics:
        raise InvalidParameterCombinationException(
            "Must specify either Statistics or ExtendedStatistics, but not both."
        )
    for stat in extended_statistics or []:
        if not PERCENTILE.match(stat):
            raise InvalidParameterValueException(
                f"The value {stat} for parameter ExtendedStatistics is not supported: use a percentile such as p99."
            )
    for stat in statistics or []:
        if stat not in STANDARD_STATISTICS:
            raise InvalidParameterValueException(f"The value {stat} for parameter Statistics is not supported.")
    wanted = (unix(end_time) - unix(start_time)) / period
    if wanted > MAX_DATAPOINTS_PER_STATISTICS_CALL:
        raise InvalidParameterCombinationException(
            f"You have requested up to {int(wanted)} datapoints, which exceeds the limit of "
            f"{MAX_DATAPOINTS_PER_STATISTICS_CALL}. You may reduce the datapoints requested by increasing "
            "Period, or decreasing the time range."
        )


def _stored_metrics(account_id: str, region: str, namespace, metric_name, since: datetime) -> list[dict]:
    """Every distinct metric (namespace, name, dimension set) with data since `since`, newest first."""
    where, params = "account_id = ? AND region = ? AND timestamp >= ?", [account_id, region, unix(since)]
    if namespace:
        where += " AND namespace = ?"
        params.append(namespace)
    if metric_name:
        where += " AND metric_name = ?"
        params.append(metric_name)
    rows = read_store(
        f"""SELECT namespace, metric_name, dimensions, MAX(timestamp) AS latest FROM (
                SELECT namespace, metric_name, dimensions, timestamp FROM SINGLE_METRICS WHERE {where}
                UNION ALL
                SELECT namespace, metric_name, dimensions, timestamp FROM AGGREGATED_METRICS WHERE {where})
            GROUP BY namespace, metric_name, dimensions ORDER BY latest DESC""",
        params * 2,
    )
    return [
        {"Namespace": ns, "MetricName": name, "Dimensions": dimensions_from_key(dims)}
        for ns, name, dims, _ in rows
    ]


def _has_dimensions(metric_dimensions: list[dict], filters: list[dict]) -> bool:
    """AWS's ListMetrics filter: each filter's name is one of the metric's dimensions (and its
    value equals, when the filter gives one); the metric may have other dimensions too."""
    held = {d["Name"]: d["Value"] for d in metric_dimensions}
    return all(
        f["Name"] in held and (f.get("Value") is None or held[f["Name"]] == f["Value"]) for f in filters
    )

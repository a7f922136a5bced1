"""Mixin of the Logs provider: filter patterns in FilterLogEvents, metric filters and subscription filters.

What AWS does, and what LocalStack's community provider did instead:
- FilterLogEvents returns the events of the chosen streams (`logStreamNames` or
  `logStreamNamePrefix`, not both) between `startTime` and `endTime` (both inclusive) that the
  `filterPattern` matches, oldest first across streams, `limit` (at most 10,000) at a time with a
  `nextToken` for the rest. LocalStack returned every event whatever the pattern and ignored the
  prefix.
- A metric filter publishes for its own log group only, with the value, dimensions, unit and
  timestamp its transformation says (metric_filters.py; sent through the engine's metric
  batcher, so a data point reaches CloudWatch within about a second). LocalStack published 1 for every event of
  every group of the region (`LogsProvider.put_log_events`; this provider stands it aside).
- A subscription filter forwards only the events its pattern matches. LocalStack's forwarding
  (`moto_put_log_events` in its provider module) asked `get_pattern_matcher`, which always said
  yes, and let a second filter choose from the first one's matches; this provider puts
  subscription_forwarding.py in its place (and the real matcher behind `get_pattern_matcher`).
- A pattern AWS cannot parse is refused with InvalidParameterException by FilterLogEvents,
  PutMetricFilter, PutSubscriptionFilter and TestMetricFilter.
The parsing and matching is filter_pattern.py, shared by all four.

PutLogEvents: this mixin's `put_log_events` calls `super()` (other mixins' and then LocalStack's,
which stores the events through moto) and then publishes the metric filters' data.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time

from localstack.aws.api import RequestContext, handler
from localstack.aws.api.logs import (
    DescribeLogGroupsRequest,
    DescribeLogGroupsResponse,
    FilterLogEventsRequest,
    FilterLogEventsResponse,
    InvalidParameterException,
    ResourceNotFoundException,
    TestMetricFilterResponse,
)
from localstack.services.logs import provider as stock_provider
from localstack.services.logs.models import get_moto_logs_backend
from localstack.services.moto import call_moto
from moto.logs.models import LogStream as MotoLogStream

from edalab.plugins.logs import metric_filters
from edalab.plugins.logs.filter_pattern import InvalidFilterPattern, LogMessage, compile_pattern
from edalab.plugins.logs.subscription_forwarding import store_and_forward

LOG = logging.getLogger(__name__)
MAX_EVENTS_PER_PAGE = 10_000


def _real_pattern_matcher(pattern: str):
    """What LocalStack's subscription forwarding asks for: matches(pattern, event) -> bool."""
    try:
        matcher = compile_pattern(pattern)
    except InvalidFilterPattern:
        return lambda _pattern, _event: False
    return lambda _pattern, event: matcher(event["message"]) is not None


def _store_events_only(self, context: RequestContext, *args, **kwargs):
    """LogsProvider.put_log_events without its every-group, always-1 metric filter loop."""
    return call_moto(context)


def _pattern_or_refuse(text: str | None, what: str):
    try:
        return compile_pattern(text)
    except InvalidFilterPattern as error:
        raise InvalidParameterException(f"Invalid {what}pattern: {error}") from None


class PatternFiltering:
    """Operations this mixin answers before LocalStack's Logs provider does."""

    def on_after_init(self):
        super().on_after_init()
        # only ever run when this provider is selected (EDALAB_STOCK_SERVICES=logs does not select it)
        stock_provider.get_pattern_matcher = _real_pattern_matcher
        stock_provider.LogsProvider.put_log_events = _store_events_only
        MotoLogStream.put_log_events = store_and_forward

    # -- FilterLogEvents -------------------------------------------------------------------------
    @handler("FilterLogEvents", expand=False)
    def filter_log_events(self, context: RequestContext, request: FilterLogEventsRequest) -> FilterLogEventsResponse:
        identifier = (request.get("logGroupIdentifier") or "").split(":log-group:")[-1].removesuffix(":*")
        group_name = request.get("logGroupName") or identifier
        if request.get("logGroupName") and request.get("logGroupIdentifier"):
            raise InvalidParameterException("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
        if request.get("logStreamNames") and request.get("logStreamNamePrefix"):
            raise InvalidParameterException("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
        limit = request.get("limit") or MAX_EVENTS_PER_PAGE
        if not 1 <= limit <= MAX_EVENTS_PER_PAGE:
            raise InvalidParameterException(f"limit must be between 1 and {MAX_EVENTS_PER_PAGE}, not {limit}")
        matcher = _pattern_or_refuse(request.get("filterPattern"), "filter ")
        group = get_moto_logs_backend(context.account_id, context.region).groups.get(group_name)
        if group is None:
            raise ResourceNotFoundException("The specified log group does not exist.")
        after = _cursor(request.get("nextToken"), group_name)
        streams = _chosen_streams(group, request.get("logStreamNames"), request.get("logStreamNamePrefix"))
        start, end = request.get("startTime"), request.get("endTime")
        found = []
        for stream in streams:
            for event in list(stream.events):
                if (start is not None and event.timestamp < start) or (end is not None and event.timestamp > end):
                    continue
                if after is not None and (event.timestamp, event.event_id) <= after:
                    continue
                if matcher(event.message) is not None:
                    found.append((event, stream.log_stream_name))
        found.sort(key=lambda pair: (pair[0].timestamp, pair[0].event_id))
        page = found[:limit]
        response = FilterLogEventsResponse(
            events=[{"logStreamName": stream_name, "timestamp": event.timestamp, "message": event.message,
                     "ingestionTime": event.ingestion_time, "eventId": str(event.event_id)}
                    for event, stream_name in page],
            searchedLogStreams=[{"logStreamName": stream.log_stream_name, "searchedCompletely": True}
                                for stream in streams],
        )
        if len(found) > limit:
            last = page[-1][0]
            response["nextToken"] = _token(group_name, last.timestamp, last.event_id)
        return response

    # -- metric filters --------------------------------------------------------------------------
    def put_metric_filter(self, context: RequestContext, log_group_name, filter_name, filter_pattern,
                          metric_transformations, *args, **kwargs) -> None:
        if len(metric_transformations or []) != 1:
            raise InvalidParameterException("metricTransformations must hold exactly 1 item.")
        try:
            metric_filters.validate(filter_pattern or "", metric_transformations or [])
        except metric_filters.InvalidMetricFilter as error:
            raise InvalidParameterException(str(error)) from None
        backend = get_moto_logs_backend(context.account_id, context.region)
        if log_group_name not in backend.groups:
            raise ResourceNotFoundException("The specified log group does not exist.")
        stored = backend.filters.metric_filters
        earlier = [each for each in stored if each["filterName"] == filter_name and each["logGroupName"] == log_group_name]
        stored[:] = [each for each in stored if not any(each is old for old in earlier)]  # a put replaces, as on AWS
        stored.append({"filterName": filter_name, "filterPattern": filter_pattern or "",
                       "logGroupName": log_group_name, "metricTransformations": metric_transformations,
                       "creationTime": earlier[0].get("creationTime") if earlier else int(time.time() * 1000)})

    @handler("DescribeLogGroups", expand=False)
    def describe_log_groups(self, context: RequestContext, request: DescribeLogGroupsRequest) -> DescribeLogGroupsResponse:
        """Each group's metricFilterCount, which LocalStack always gave as 0."""
        response = super().describe_log_groups(context, request)
        stored = get_moto_logs_backend(context.account_id, context.region).filters.metric_filters
        for group in response.get("logGroups", []):
            group["metricFilterCount"] = sum(1 for each in stored if each["logGroupName"] == group["logGroupName"])
        return response

    def delete_log_group(self, context: RequestContext, log_group_name, **kwargs) -> None:
        """AWS deletes a group's metric filters with it; moto kept them, to count for a new group of that name."""
        call_moto(context)
        stored = get_moto_logs_backend(context.account_id, context.region).filters.metric_filters
        stored[:] = [each for each in stored if each["logGroupName"] != log_group_name]

    def test_metric_filter(self, context: RequestContext, filter_pattern, log_event_messages,
                           **kwargs) -> TestMetricFilterResponse:
        matcher = _pattern_or_refuse(filter_pattern, "metric filter ")
        matches = []
        for number, text in enumerate(log_event_messages or [], start=1):
            match = matcher(LogMessage(text))
            if match is not None:
                extracted = {f"${name}": value for name, value in match.fields.items()}
                matches.append({"eventNumber": number, "eventMessage": text, "extractedValues": extracted})
        return TestMetricFilterResponse(matches=matches)

    def put_log_events(self, context: RequestContext, log_group_name, log_stream_name, log_events, *args, **kwargs):
        response = super().put_log_events(context, log_group_name, log_stream_name, log_events, *args, **kwargs)
        backend = get_moto_logs_backend(context.account_id, context.region)
        own_filters = [each for each in backend.filters.metric_filters if each["logGroupName"] == log_group_name]
        if own_filters:
            accepted = _accepted(log_events, response.get("rejectedLogEventsInfo") or {})
            try:
                metric_filters.publish(context.account_id, context.region, metric_filters.samples(own_filters, accepted))
            except Exception as error:  # the events are stored; a metric problem must not fail the call
                LOG.warning("edalab: metric filters of %s published nothing: %s", log_group_name, error)
        return response

    # -- subscription filters --------------------------------------------------------------------
    def put_subscription_filter(self, context: RequestContext, log_group_name, filter_name, filter_pattern,
                                destination_arn, *args, **kwargs) -> None:
        _pattern_or_refuse(filter_pattern, "subscription filter ")
        return super().put_subscription_filter(context, log_group_name, filter_name, filter_pattern,
                                               destination_arn, *args, **kwargs)


def _accepted(log_events: list[dict], rejected: dict) -> list[dict]:
    """The events PutLogEvents stored: not before tooOldLogEventEndIndex, not from tooNewLogEventStartIndex."""
    first = rejected.get("tooOldLogEventEndIndex", -1) + 1
    last = rejected.get("tooNewLogEventStartIndex", len(log_events))
    return sorted(log_events[first:last], key=lambda event: event["timestamp"])


def _chosen_streams(group, names: list[str] | None, prefix: str | None) -> list:
    streams = sorted(group.streams.values(), key=lambda stream: stream.log_stream_name)
    if names:
        return [stream for stream in streams if stream.log_stream_name in names]
    if prefix:
        return [stream for stream in streams if stream.log_stream_name.startswith(prefix)]
    return streams


def _token(group_name: str, timestamp: int, event_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([group_name, timestamp, event_id]).encode()).decode()


def _cursor(token: str | None, group_name: str) -> tuple[int, int] | None:
    """The (timestamp, eventId) a nextToken continues after; refuses a token of another search."""
    if not token:
        return None
    try:
        token_group, timestamp, event_id = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError, binascii.Error):
        raise InvalidParameterException("The specified nextToken is invalid.") from None
    if token_group != group_name:
        raise InvalidParameterException("The specified nextToken is invalid.")
    return int(timestamp), int(event_id)

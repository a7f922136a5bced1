"""Mixin of the Logs provider: Logs Insights StartQuery / GetQueryResults / StopQuery / DescribeQueries.

What AWS does, and what LocalStack's community provider did instead (it hands these to moto):
- StartQuery checks the query (a malformed one is refused with MalformedQueryException, whose
  message names the symbol, line and position, with `queryCompileError.location`), checks the
  log groups (`logGroupName`, `logGroupNames` or `logGroupIdentifiers`, names or ARNs; a
  missing one is ResourceNotFoundException), and runs the query over the events between
  `startTime` and `endTime` (epoch seconds, both inclusive) in the background.
- GetQueryResults answers `Running` (no rows yet) until the query is done, then `Complete` with
  the rows (lists of `{field, value}`, values as text, `@timestamp` as `2026-11-24 01:23:45.678`,
  `@ptr` on event rows) and `statistics` (recordsMatched, recordsScanned, bytesScanned).
- StopQuery cancels a running query (`Cancelled`); DescribeQueries lists recent queries.
- GetLogRecord gives every field of the event a result row's `@ptr` points at (moto had no
  GetLogRecord at all).
moto ignored `filter`, returned only `@ptr` for `stats`, parsed nothing else and never refused a
query. The language itself lives in `insights/` (parser, executor).
Only the Logs Insights query language (CWLI) is supported; SQL and PPL are refused.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from localstack.aws.api import RequestContext, handler
from localstack.aws.api.logs import (
    DescribeQueriesResponse,
    GetLogRecordResponse,
    GetQueryResultsResponse,
    InvalidParameterException,
    MalformedQueryException,
    ResourceNotFoundException,
    StartQueryResponse,
    StopQueryResponse,
)
from localstack.services.logs.models import get_moto_logs_backend

from edalab.plugins.logs.insights.executor import Cancelled, LogSource, QueryOutcome, check, run
from edalab.plugins.logs.insights.expressions import as_text
from edalab.plugins.logs.insights.parser import QuerySyntaxError, parse_query
from edalab.plugins.logs.insights.records import EventRecord, Millis, read_pointer

LOG = logging.getLogger(__name__)
KEPT_QUERIES = 1000  # per region; AWS keeps results for 7 days, we keep the latest queries
_workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="edalab-insights")


@dataclass
class RunningQuery:
    query_id: str
    query_string: str
    log_group_names: list[str]
    create_time: int
    status: str = "Running"
    outcome: QueryOutcome | None = None
    stop_requested: threading.Event = field(default_factory=threading.Event)


_queries: dict[tuple[str, str], OrderedDict[str, RunningQuery]] = {}
_queries_lock = threading.Lock()


def _region_queries(context: RequestContext) -> OrderedDict[str, RunningQuery]:
    with _queries_lock:
        return _queries.setdefault((context.account_id, context.region), OrderedDict())


def _group_name(identifier: str) -> tuple[str | None, str | None, str]:
    """(account, region, name) of a log group name or ARN (`...:log-group:name[:*]`)."""
    if identifier.startswith("arn:"):
        parts = identifier.split(":")
        name = ":".join(parts[6:])
        if name.endswith(":*"):
            name = name[:-2]
        return parts[4], parts[3], name
    return None, None, identifier


def _run_query(query: RunningQuery, plan, sources, start_ms, end_ms, limit) -> None:
    try:
        outcome = run(plan, sources, start_ms, end_ms, limit, stop=query.stop_requested.is_set)
        if not query.stop_requested.is_set():
            query.outcome, query.status = outcome, "Complete"
    except Cancelled:
        query.status = "Cancelled"
    except Exception:  # noqa: BLE001 - a query that breaks fails, as on AWS, instead of staying Running
        LOG.exception("edalab: Logs Insights query %s failed: %s", query.query_id, query.query_string)
        query.status = "Failed"


class InsightsQueries:
    """Operations this mixin answers before LocalStack's Logs provider does."""

    @handler("StartQuery")
    def start_query(self, context: RequestContext, start_time: int, end_time: int, query_string: str,
                    query_language: str | None = None, log_group_name: str | None = None,
                    log_group_names: list[str] | None = None, log_group_identifiers: list[str] | None = None,
                    limit: int | None = None, **kwargs) -> StartQueryResponse:
        if query_language and query_language != "CWLI":
            raise InvalidParameterException(f"queryLanguage {query_language} is not supported by this engine; "
                                            "use the Logs Insights query language (CWLI)")
        given = [value for value in (log_group_name, log_group_names, log_group_identifiers) if value]
        if len(given) > 1:
            raise InvalidParameterException("Only one of logGroupName, logGroupNames and logGroupIdentifiers "
                                            "may be given")
        if not given:
            raise InvalidParameterException("Specify the log groups to query with logGroupName, logGroupNames "
                                            "or logGroupIdentifiers")
        if end_time < start_time:
            raise InvalidParameterException("endTime must be greater than or equal to startTime")
        try:
            plan = parse_query(query_string)
            check(plan)
        except QuerySyntaxError as error:
            raise MalformedQueryException(error.message, queryCompileError={
                "location": {"startCharOffset": error.start, "endCharOffset": error.end},
                "message": error.message}) from None
        identifiers = [log_group_name] if log_group_name else list(given[0])
        sources, names = [], []
        for identifier in identifiers:
            account, region, name = _group_name(identifier)
            backend = get_moto_logs_backend(account or context.account_id, region or context.region)
            group = backend.groups.get(name)
            if group is None:
                raise ResourceNotFoundException(f"Log group '{name}' does not exist for account ID "
                                                f"'{account or context.account_id}'")
            sources.append(LogSource(f"{group.account_id}:{group.name}", group.streams))
            names.append(group.name)
        query = RunningQuery(str(uuid.uuid4()), query_string, names, int(time.time() * 1000))
        queries = _region_queries(context)
        with _queries_lock:
            queries[query.query_id] = query
            while len(queries) > KEPT_QUERIES:
                queries.popitem(last=False)
        _workers.submit(_run_query, query, plan, sources, start_time * 1000, end_time * 1000 + 999, limit)
        return StartQueryResponse(queryId=query.query_id)

    @handler("GetQueryResults")
    def get_query_results(self, context: RequestContext, query_id: str, **kwargs) -> GetQueryResultsResponse:
        query = _region_queries(context).get(query_id)
        if query is None:
            raise ResourceNotFoundException("Query does not exist.")
        outcome = query.outcome
        if query.status != "Complete" or outcome is None:
            statistics = {"recordsMatched": 0.0, "recordsScanned": 0.0, "bytesScanned": 0.0}
            return GetQueryResultsResponse(queryLanguage="CWLI", results=[], statistics=statistics, status=query.status)
        return GetQueryResultsResponse(queryLanguage="CWLI", results=outcome.rows, statistics=outcome.statistics(),
                                       status=query.status)

    @handler("StopQuery")
    def stop_query(self, context: RequestContext, query_id: str, **kwargs) -> StopQueryResponse:
        query = _region_queries(context).get(query_id)
        if query is None:
            raise ResourceNotFoundException("Query does not exist.")
        if query.status not in ("Scheduled", "Running"):
            return StopQueryResponse(success=False)
        query.stop_requested.set()
        query.status = "Cancelled"
        return StopQueryResponse(success=True)

    @handler("GetLogRecord")
    def get_log_record(self, context: RequestContext, log_record_pointer: str, unmask: bool | None = None,
                       **kwargs) -> GetLogRecordResponse:
        where = read_pointer(log_record_pointer)
        if where is None:
            raise InvalidParameterException("The logRecordPointer is not valid")
        log, stream_name, event_id = where
        account, _, group_name = log.partition(":")
        group = get_moto_logs_backend(account, context.region).groups.get(group_name)
        stream = group.streams.get(stream_name) if group else None
        found = next((event for event in (stream.events if stream else []) if event.event_id == event_id), None)
        if found is None:
            raise ResourceNotFoundException("The log record does not exist")
        fields = EventRecord(found, stream_name, log).all_fields()
        return GetLogRecordResponse(logRecord={
            name: str(int(value)) if isinstance(value, Millis) else as_text(value)  # epoch ms here, as AWS
            for name, value in fields.items() if value is not None})

    @handler("DescribeQueries")
    def describe_queries(self, context: RequestContext, log_group_name: str | None = None,
                         status: str | None = None, max_results: int | None = None, next_token: str | None = None,
                         query_language: str | None = None, **kwargs) -> DescribeQueriesResponse:
        listed = []
        for query in reversed(list(_region_queries(context).values())):
            if log_group_name and log_group_name not in query.log_group_names:
                continue
            if status and query.status != status:
                continue
            listed.append({"queryLanguage": "CWLI", "queryId": query.query_id, "queryString": query.query_string,
                           "status": query.status, "createTime": query.create_time,
                           "logGroupName": log_group_name or query.log_group_names[0]})
        return DescribeQueriesResponse(queries=listed[:max_results or 1000])

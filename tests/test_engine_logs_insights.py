"""Logs Insights through the engine: StartQuery, then GetQueryResults until Complete, as on AWS.

AWS documents (CloudWatch Logs API Reference: StartQuery, GetQueryResults; User Guide:
CWL_QuerySyntax) that a query runs in the background, GetQueryResults answers `Running` until it
is `Complete`, each result row is a list of {field, value} with values as text and `@ptr` on
event rows, `statistics` count the scanned and matched records, and a malformed query is refused
at StartQuery with MalformedQueryException naming the symbol, line and position.
LocalStack's community edition (moto underneath) ignored `filter`, gave `stats` rows of `@ptr`
alone and accepted any text as a query.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from edalab.waiting import wait_for

FIVE_MINUTES_MS = 300_000


@pytest.fixture
def logs(engine):
    return engine.client("logs")


@pytest.fixture
def log_group(logs):
    """A log group with one stream of order events (JSON, as every lab function logs), in the
    5-minute bin that starts `base_ms`, half an hour ago."""
    name = f"/edalab/test/insights-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="orders")
    base_ms = (int(time.time() * 1000) - 1_800_000) // FIVE_MINUTES_MS * FIVE_MINUTES_MS
    yield name, base_ms
    logs.delete_log_group(logGroupName=name)


def put(logs, group: str, events: list[tuple[int, object]], stream: str = "orders") -> None:
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": stamp, "message": message if isinstance(message, str) else json.dumps(message)}
        for stamp, message in sorted(events, key=lambda pair: pair[0])])


def run_query(logs, query: str, base_ms: int, **where) -> dict:
    """StartQuery over the hour around `base_ms`, then GetQueryResults until the query is done."""
    started = logs.start_query(startTime=base_ms // 1000 - 1800, endTime=base_ms // 1000 + 1800,
                               queryString=query, **where)
    answer = wait_for(lambda: logs.get_query_results(queryId=started["queryId"]), what=f"query {query!r} done",
                      timeout=20, until=lambda reply: reply["status"] not in ("Scheduled", "Running"))
    assert answer["status"] == "Complete", answer
    return {**answer, "queryId": started["queryId"]}


def as_dicts(answer: dict) -> list[dict]:
    return [{pair["field"]: pair["value"] for pair in row} for row in answer["results"]]


def test_errors_counted_by_reason_over_five_minute_bins(logs, log_group):
    group, base = log_group
    put(logs, group, [
        (base + 10_000, {"level": "ERROR", "reason": "card_declined", "order_id": "o-1"}),
        (base + 20_000, {"level": "INFO", "message": "order placed", "order_id": "o-2"}),
        (base + 90_000, {"level": "ERROR", "reason": "card_declined", "order_id": "o-3"}),
        (base + FIVE_MINUTES_MS + 5_000, {"level": "ERROR", "reason": "out_of_stock", "order_id": "o-4"}),
        (base + FIVE_MINUTES_MS + 6_000, {"level": "ERROR", "reason": "card_declined", "order_id": "o-5"}),
    ])
    answer = run_query(logs, 'filter level = "ERROR" | stats count(*) as errors by reason, bin(5m)', base,
                       logGroupName=group)

    def stamp(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.000")

    assert sorted(tuple(row.items()) for row in as_dicts(answer)) == sorted([
        (("reason", "card_declined"), ("bin(5m)", stamp(base)), ("errors", "2")),
        (("reason", "out_of_stock"), ("bin(5m)", stamp(base + FIVE_MINUTES_MS)), ("errors", "1")),
        (("reason", "card_declined"), ("bin(5m)", stamp(base + FIVE_MINUTES_MS)), ("errors", "1")),
    ])
    assert answer["statistics"]["recordsScanned"] == 5 and answer["statistics"]["recordsMatched"] == 4


def test_slowest_ten_orders(logs, log_group):
    group, base = log_group
    durations = [130, 12, 980, 45, 610, 77, 300, 5, 420, 250, 66, 800, 91, 150, 700]
    put(logs, group, [(base + i * 1000, {"order_id": f"o-{i}", "duration_ms": ms}) for i, ms in enumerate(durations)])
    answer = run_query(logs, "fields @timestamp, order_id, duration_ms | sort duration_ms desc | limit 10", base,
                       logGroupNames=[group])
    found = as_dicts(answer)
    assert [row["duration_ms"] for row in found] == [str(ms) for ms in sorted(durations, reverse=True)[:10]]
    assert found[0]["order_id"] == "o-2"
    assert found[0]["@timestamp"] == datetime.fromtimestamp((base + 2000) / 1000, UTC).strftime(
        "%Y-%m-%d %H:%M:%S.000")
    record = logs.get_log_record(logRecordPointer=found[0]["@ptr"])["logRecord"]  # the whole event behind @ptr
    assert json.loads(record["@message"]) == {"order_id": "o-2", "duration_ms": 980}
    assert record["order_id"] == "o-2" and record["@logStream"] == "orders"


def test_parse_on_a_plain_text_line(logs, log_group):
    group, base = log_group
    put(logs, group, [
        (base + 1000, "user=ann, method:GET, latency := 45"),
        (base + 2000, "user=bob, method:POST, latency := 230"),
        (base + 3000, {"level": "INFO", "message": "not a request line"}),
    ])
    answer = run_query(logs, 'parse @message "user=*, method:*, latency := *" as user, method, latency '
                             "| filter latency > 100 | display user, method, latency", base, logGroupName=group)
    assert [{k: v for k, v in row.items() if k != "@ptr"} for row in as_dicts(answer)] == [
        {"user": "bob", "method": "POST", "latency": "230"}]


def test_filter_really_filters_across_log_groups_by_identifier(logs, log_group):
    group, base = log_group
    other = f"{group}-other"
    logs.create_log_group(logGroupName=other)
    logs.create_log_stream(logGroupName=other, logStreamName="payments")
    try:
        put(logs, group, [(base + 1000, {"level": "ERROR", "order_id": "o-1"}),
                          (base + 2000, {"level": "INFO", "order_id": "o-2"})])
        put(logs, other, [(base + 3000, {"level": "ERROR", "order_id": "o-3"}),
                          (base - 3_600_000, {"level": "ERROR", "order_id": "too-old"})], stream="payments")
        other_arn = logs.describe_log_groups(logGroupNamePrefix=other)["logGroups"][0]["arn"]
        answer = run_query(logs, 'fields order_id, @log, @logStream | filter level = "ERROR"', base,
                           logGroupIdentifiers=[group, other_arn])
        found = {row["order_id"]: (row["@log"].split(":", 1)[1], row["@logStream"]) for row in as_dicts(answer)}
        assert found == {"o-1": (group, "orders"), "o-3": (other, "payments")}
        assert answer["statistics"]["recordsMatched"] == 2 and answer["statistics"]["recordsScanned"] == 3
        listed = logs.describe_queries(logGroupName=other)["queries"]
        assert [(q["queryId"], q["status"]) for q in listed] == [(answer["queryId"], "Complete")]
    finally:
        logs.delete_log_group(logGroupName=other)


def test_a_malformed_query_is_refused_saying_where(logs, log_group):
    group, base = log_group
    with pytest.raises(ClientError) as refused:
        logs.start_query(logGroupName=group, startTime=base // 1000, endTime=base // 1000 + 60,
                         queryString='fields @message | filter level = "ERROR" | sortt @timestamp')
    error = refused.value.response["Error"]
    assert error["Code"] == "MalformedQueryException"
    assert error["Message"] == "unexpected symbol found sortt at line 1 and position 43"

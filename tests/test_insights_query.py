"""Logs Insights parser and executor, without an engine.

The queries are AWS's own examples (CloudWatch Logs User Guide: CWL_QuerySyntax-Stats, -Parse,
-Limit, -Sort, and the Lambda operator guide's "useful Insights queries"); the events are moto's
own LogEvent objects, as the engine stores them.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from moto.logs.models import LogEvent

from edalab.plugins.logs.insights.executor import LogSource, check, natural_key, run
from edalab.plugins.logs.insights.parser import QuerySyntaxError, parse_query
from edalab.plugins.logs.insights.records import Millis

T0 = 1_795_000_200_000  # 2026-11-18 11:10:00.000 UTC, on a 5-minute boundary
LOG = "000000000000:/aws/lambda/orders"

AWS_SAMPLE_QUERIES = [
    "fields @timestamp, @message | sort @timestamp desc | limit 25",
    "stats count(*) by queryType, bin(1h)",
    'parse @message "user=*, method:*, latency := *" as @user, @method, @latency | stats avg(@latency) by @method, @user',
    "parse @message /user=(?<user2>.*?), method:(?<method2>.*?), latency := (?<latency2>.*?)/"
    " | stats avg(latency2) by @method2, @user2",
    "parse @message /(?<NetworkInterface>eni-.*?) / | display NetworkInterface, @message",
    'parse @logStream "*/*/*/*" as env, service, instance, shard | stats count(*) by env, service',
    'filter @type = "REPORT" | fields @requestId, @billedDuration | sort by @billedDuration desc | limit 100',
    'filter @type = "REPORT"\n| stats avg(@billedDuration) as Average,\n    percentile(@billedDuration, 99) as NinetyNinth,'
    "\n    percentile(@billedDuration, 95) as NinetyFifth,\n    percentile(@billedDuration, 90) as Ninetieth\n    by bin(30m)",
    'filter @type = "REPORT"\n| stats sum(strcontains(@message, "Init Duration"))/count(*) * 100 as\n  coldStartPct,'
    " avg(@duration)\n  by bin(5m)",
    'filter @type = "REPORT" and @maxMemoryUsed=@memorySize\n| stats\n    count_distinct(@requestId)\n    by bin(30m)',
    "filter @message like /(?i)(Exception|error|fail)/\n| fields @timestamp, @message\n| sort @timestamp desc\n| limit 50",
    'fields @timestamp, @message\n# only the failures\n| filter level = "ERROR" | dedup reason',
    # the EKS workshop's Insights scenarios (aws-samples), run there against AWS
    "fields @logStream, @timestamp, @message\n| filter @logStream like /^cloud-controller/\n"
    "| filter @message not like 'Skip putting node'\n| sort @timestamp asc\n| limit 50",
    'fields @timestamp, @message\n| sort @timestamp desc\n| limit 100\n| filter objectRef.resource="secrets" and verb in'
    ' ["get", "watch", "list"] and responseStatus.code="401"\n| stats count() by bin(1m)',
    'fields @timestamp, @message, sourceIPs.0\n| filter user.username="system:anonymous" and responseStatus.code in'
    ' ["401", "403"]',
    "fields @logStream, @timestamp, @message\n| filter requestURI like /\\/api\\/v1\\/namespaces\\/kube-system\\/configmaps/"
    '\n| filter objectRef.name = "aws-auth"\n| filter verb like /(create|delete|patch)/',
    'fields @logStream, @timestamp, @message\n| filter strcontains(user.username,"kubernetes-admin")',
    "fields @logStream, @timestamp, @message\n| stats count(*) as count by responseStatus.code\n| sort count desc",
]


def event(offset_s: float, message, ingested_after_ms: int = 20) -> LogEvent:
    text = message if isinstance(message, str) else json.dumps(message)
    stamp = T0 + int(offset_s * 1000)
    return LogEvent(stamp + ingested_after_ms, {"timestamp": stamp, "message": text})


def source(events, stream: str = "2026/11/18/[$LATEST]abc", log: str = LOG) -> LogSource:
    return LogSource(log, {stream: SimpleNamespace(events=list(events))})


ORDERS = [
    event(10, {"level": "INFO", "msg": "order placed", "order": {"id": "o-1", "total": 30}, "ms": 120}),
    event(20, {"level": "ERROR", "msg": "payment failed", "reason": "card_declined", "order": {"id": "o-2"}, "ms": 900}),
    event(70, {"level": "ERROR", "msg": "payment failed", "reason": "card_declined", "order": {"id": "o-3"}, "ms": 40}),
    event(320, {"level": "ERROR", "msg": "payment failed", "reason": "out_of_stock", "order": {"id": "o-4"}, "ms": 310}),
    event(330, {"level": "INFO", "msg": "order placed", "order": {"id": "o-5", "total": 12.5}, "ms": 75}),
    event(340, "START RequestId: 7f1e Version: $LATEST"),
    event(341, "REPORT RequestId: 7f1e\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t"
               "Max Memory Used: 64 MB\tInit Duration: 100.5 ms"),
    event(342, "user=ann, method:GET, latency := 45"),
]


def query(text: str, events=ORDERS, **options):
    return run(parse_query(text), [source(events)], None, None, **options)


def rows(text: str, events=ORDERS, **options) -> list[dict]:
    """Each row as {field: value}; asserts `@ptr` is present exactly on event rows."""
    return [{pair["field"]: pair["value"] for pair in row} for row in query(text, events, **options).rows]


@pytest.mark.parametrize("text", AWS_SAMPLE_QUERIES)
def test_awss_sample_queries_parse(text):
    assert parse_query(text).commands


def test_filter_really_filters_and_counts_what_it_matched():
    outcome = query('filter level = "ERROR" | fields order.id')
    assert [row["order.id"] for row in rows('filter level = "ERROR" | fields order.id')] == ["o-4", "o-3", "o-2"]
    assert (outcome.records_matched, outcome.records_scanned) == (3, len(ORDERS))
    assert outcome.bytes_scanned == sum(len(e.message) for e in ORDERS)


def test_count_errors_by_reason_over_five_minute_bins():
    found = rows('filter level = "ERROR" | stats count(*) as errors by reason, bin(5m)')
    assert found == [
        {"reason": "out_of_stock", "bin(5m)": "2026-11-18 11:15:00.000", "errors": "1"},
        {"reason": "card_declined", "bin(5m)": "2026-11-18 11:10:00.000", "errors": "2"},
    ]


def test_stats_rows_have_no_ptr_and_event_rows_do():
    assert all("@ptr" not in row for row in rows("stats count(*)"))
    event_rows = rows("fields @timestamp | limit 3")
    assert all(row["@ptr"] for row in event_rows) and len({row["@ptr"] for row in event_rows}) == 3


def test_slowest_orders_sorted_by_a_json_number():
    found = rows("fields order.id, ms | filter ispresent(order.id) | sort ms desc | limit 2")
    assert [(row["order.id"], row["ms"]) for row in found] == [("o-2", "900"), ("o-4", "310")]


def test_aggregates():
    [row] = rows("filter ispresent(ms) | stats count(*) as n, count(reason) as with_reason, sum(ms) as total, "
                 "avg(ms) as mean, min(ms) as low, max(ms) as high, pct(ms, 50) as median, "
                 "count_distinct(level) as levels")
    assert row == {"n": "5", "with_reason": "3", "total": "1445", "mean": "289", "low": "40", "high": "900",
                   "median": "120", "levels": "2"}


def test_unaliased_columns_are_named_as_written():
    [row] = rows("filter ispresent(ms) | stats avg(ms), pct(ms, 95), count(*)")
    assert row == {"avg(ms)": "289", "pct(ms, 95)": "900", "count(*)": "5"}


def test_timestamp_is_printed_as_aws_prints_it():
    [row] = rows('filter order.id = "o-1" | fields @timestamp, @ingestionTime, @log, @logStream')
    assert row["@timestamp"] == "2026-11-18 11:10:10.000"
    assert row["@ingestionTime"] == "2026-11-18 11:10:10.020"
    assert row["@log"] == LOG and row["@logStream"] == "2026/11/18/[$LATEST]abc"


def test_glob_parse_on_a_plain_text_line():
    found = rows('parse @message "user=*, method:*, latency := *" as user, method, latency '
                 "| filter ispresent(user) | display user, method, latency")
    assert [{k: v for k, v in row.items() if k != "@ptr"} for row in found] == [
        {"user": "ann", "method": "GET", "latency": "45"}]


def test_regex_parse_with_named_groups_and_an_unmatched_event_kept():
    found = rows("parse @message /user=(?<who>\\w+)/ | fields order.id | sort @timestamp asc")
    assert len(found) == len(ORDERS)  # events the pattern misses stay, without the field
    assert [row.get("who") for row in found if "who" in row] == ["ann"]


def test_comparisons_like_in_regex_and_boolean_operators():
    def ids(condition: str) -> list[str]:
        return sorted(row["order.id"] for row in rows(f"filter {condition} | fields order.id"))

    assert ids("ms >= 310") == ["o-2", "o-4"]
    assert ids("ms < 100 and level != \"ERROR\"") == ["o-5"]
    assert ids('msg like "placed"') == ["o-1", "o-5"]
    assert ids("msg like /^pay.*failed$/ and not reason = \"card_declined\"") == ["o-4"]
    assert ids('reason in ["out_of_stock", "nope"] or order.total > 20') == ["o-1", "o-4"]
    assert ids('reason not in ["card_declined"] and level = "ERROR"') == ["o-4"]
    assert ids("order.id =~ /o-[12]/") == ["o-1", "o-2"]
    assert ids('@message like /(?i)PAYMENT/ and (ms > 500 or ms < 50)') == ["o-2", "o-3"]


def test_missing_field_never_matches_a_comparison():
    assert rows('filter reason != "card_declined" | fields order.id') == [
        {"order.id": "o-4", "@ptr": rows('filter reason = "out_of_stock" | fields order.id')[0]["@ptr"]}]


def test_lambda_report_fields_are_discovered():
    [row] = rows('filter @type = "REPORT" | fields @requestId, @duration, @billedDuration, @memorySize, '
                 "@maxMemoryUsed, @initDuration")
    assert {k: v for k, v in row.items() if k != "@ptr"} == {
        "@requestId": "7f1e", "@duration": "12.34", "@billedDuration": "13", "@memorySize": str(128 * 1024 * 1024),
        "@maxMemoryUsed": str(64 * 1024 * 1024), "@initDuration": "100.5"}


def test_without_fields_every_field_of_the_event_is_listed_newest_first():
    found = rows('filter order.id = "o-5" or order.id = "o-1"')
    assert [row["order.id"] for row in found] == ["o-5", "o-1"]
    assert list(found[0]) == ["@timestamp", "@message", "@logStream", "@log", "@ingestionTime", "level", "msg",
                              "order.id", "order.total", "ms", "@ptr"]


def test_fields_computes_and_display_chooses():
    found = rows("filter ispresent(order.total) | fields order.total * 2 as doubled, toupper(level) as lvl "
                 "| display doubled, lvl | sort doubled asc")
    assert found == [{"doubled": "25", "lvl": "INFO", "@ptr": found[0]["@ptr"]},
                     {"doubled": "60", "lvl": "INFO", "@ptr": found[1]["@ptr"]}]


def test_dedup_keeps_the_first_of_each_value():
    found = rows('filter level = "ERROR" | dedup reason | fields reason')
    assert [row["reason"] for row in found] == ["out_of_stock", "card_declined"]


def test_limits_from_the_query_and_from_start_query():
    assert len(rows("fields @timestamp | limit 3")) == 3
    assert len(rows("fields @timestamp", limit=2)) == 2


def test_stats_over_no_events_still_counts_zero():
    assert rows('filter level = "FATAL" | stats count(*) as n') == [{"n": "0"}]


def test_sort_is_natural_text_before_numbers():
    values = ["0", "A", "a12345hfh", "5A", "111A", "#", "A9876fghj", "2345_", "@"]
    assert sorted(values, key=natural_key) == ["#", "5A", "111A", "2345_", "@", "A", "A9876fghj", "a12345hfh", "0"]


def test_several_log_groups_and_a_time_range():
    other = source([event(15, {"level": "ERROR", "reason": "timeout"})], stream="s", log="000000000000:/other")
    outcome = run(parse_query("stats count(*) as n by @log"), [source(ORDERS), other], T0 + 15_000, T0 + 70_000)
    assert sorted(tuple(pair["value"] for pair in row) for row in outcome.rows) == [
        ("000000000000:/aws/lambda/orders", "2"), ("000000000000:/other", "1")]


def test_millis_prints_like_aws():
    assert str(Millis(T0 + 1_234)) == "2026-11-18 11:10:01.234"


@pytest.mark.parametrize(("text", "symbol", "position"), [
    ("fields @message | sortt x", "sortt", 18),
    ("filter (level = 1", "<EOF>", 17),
    ("stats count(*) by", "<EOF>", 17),
    ("fields x | limit -1", "-", 17),
    ('filter x = "a" |', "<EOF>", 16),
    ("filter x = 1 ) ", ")", 13),
])
def test_malformed_queries_say_where(text, symbol, position):
    with pytest.raises(QuerySyntaxError) as raised:
        parse_query(text)
    assert raised.value.message == f"unexpected symbol found {symbol} at line 1 and position {position}"
    assert raised.value.start == position


def test_malformed_on_a_later_line_names_the_line():
    with pytest.raises(QuerySyntaxError) as raised:
        parse_query("fields @message\n| filter level = = 2")
    assert raised.value.message == "unexpected symbol found = at line 2 and position 17"


@pytest.mark.parametrize("text", [
    "", "stats avg(ms) by bin(5parsecs)", 'parse @message "a=*, b=*" as a', "parse @message /no groups/",
    "filter count(*) > 1", "fields nosuch(ms)", "filter @message like /(unclosed/", "stats ms by level",
])
def test_other_malformed_queries_are_refused(text):
    with pytest.raises(QuerySyntaxError):
        parse_query(text)


@pytest.mark.parametrize("text", ["stats pct(ms) by level", "fields bin(level) as t", "stats percentile(ms, x)"])
def test_queries_whose_functions_cannot_run_are_refused_before_running(text):
    with pytest.raises(QuerySyntaxError):
        check(parse_query(text))


def test_a_good_query_passes_the_check():
    check(parse_query('filter level = "ERROR" | stats pct(ms, 95), count(*) by reason, bin(5m) | sort reason'))


def test_text_json_escapes_still_matches():
    """A value JSON writes escaped (`caf\\u00e9`) is still found by `=` (no shortcut on the raw text)."""
    events = [event(1, {"name": "café", "n": 1}), event(2, {"name": "cafe", "n": 2})]
    assert [row["n"] for row in rows('filter name = "café" | fields n', events)] == ["1"]


def test_not_like_with_single_quotes_and_count_without_arguments():
    found = rows("filter msg not like 'placed' | stats count() as n")
    assert found == [{"n": "3"}]


def test_a_stopped_query_stops():
    from edalab.plugins.logs.insights.executor import Cancelled

    with pytest.raises(Cancelled):
        run(parse_query("fields @message"), [source(ORDERS)], None, None, stop=lambda: True)


def test_sort_then_limit_keeps_rows_without_the_key_last():
    found = rows("fields ms | sort ms asc | limit 7")
    assert [row.get("ms") for row in found] == ["40", "75", "120", "310", "900", None, None]

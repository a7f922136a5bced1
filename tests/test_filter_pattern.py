"""CloudWatch Logs filter patterns (edalab/plugins/logs/filter_pattern.py) and the data points
metric filters make of them (metric_filters.py), no engine.

The corpus is the examples of AWS's page "Filter pattern syntax for metric filters, subscription
filters, filter log events, and Live Tail"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html): the same
log events and patterns, with the events AWS says each pattern matches.
"""

from __future__ import annotations

import json

import pytest

from edalab.plugins.logs.filter_pattern import InvalidFilterPattern, LogMessage, compile_pattern
from edalab.plugins.logs.metric_filter_resource import api_transformation
from edalab.plugins.logs.metric_filters import InvalidMetricFilter, samples, validate

# -- terms in unstructured log events (AWS's example events) ----------------------------------------
UNSTRUCTURED = [
    "[ERROR 400] BAD REQUEST",
    "[ERROR 401] UNAUTHORIZED REQUEST",
    "[ERROR 419] MISSING ARGUMENTS",
    "[ERROR 420] INVALID ARGUMENTS",
]


@pytest.mark.parametrize(("pattern", "matched"), [
    ("ERROR", [0, 1, 2, 3]),
    ("ERROR ARGUMENTS", [2, 3]),                       # every term must appear
    ('"INVALID ARGUMENTS"', [3]),                      # an exact phrase
    ('"MISSING ARGUMENTS" ', [2]),
    ("?MISSING ?INVALID", [2, 3]),                     # any of the ? terms
    ("ERROR -ARGUMENTS", [0, 1]),                      # - excludes
    ('ERROR -"BAD REQUEST"', [1, 2, 3]),
    ("error", []),                                     # case-sensitive
    ("", [0, 1, 2, 3]),                                # empty matches everything
    ("   ", [0, 1, 2, 3]),
    ("%ERROR 4[01]{2}%", [0, 1]),
    ("%AUTHORIZED%", [1]),                             # AWS's regex example
    ("%4[0-1][0-9]%", [0, 1, 2]),
])
def test_terms_in_unstructured_events_match_as_aws_documents(pattern, matched):
    matcher = compile_pattern(pattern)
    assert [index for index, event in enumerate(UNSTRUCTURED) if matcher(event)] == matched


def test_question_terms_are_ignored_beside_plain_terms():
    """AWS ignores ?terms when the pattern also has plain terms: `ERROR ?NOPE` is `ERROR`."""
    assert compile_pattern("ERROR ?NOPE")("[ERROR 400] BAD REQUEST")


# -- JSON log events (AWS's example event) ----------------------------------------------------------
CLOUDTRAIL_LIKE = json.dumps({
    "eventType": "UpdateTrail",
    "sourceIPAddress": "111.111.111.111",
    "arrayKey": ["value", "another value"],
    "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
    "SomeObject": None,
    "ThisFlag": True,
    "cluster.name": "c",
    "latency": 800,
})


@pytest.mark.parametrize(("pattern", "matches"), [
    ('{ $.eventType = "UpdateTrail" }', True),
    ("{ $.eventType = UpdateTrail }", True),
    ('{ $.eventType = "Update*" }', True),
    ('{ $.eventType = "Delete*" }', False),
    ("{ $.sourceIPAddress != 123.123.* }", True),
    ("{ $.sourceIPAddress != 111.111.* }", False),
    ('{ $.arrayKey[0] = "value" }', True),
    ('{ $.arrayKey[1] = "value" }', False),
    ("{ $.objectList[1].id = 2 }", True),
    ("{ $.objectList[0].id = 2 }", False),
    ("{ $.SomeObject IS NULL }", True),
    ("{ $.eventType IS NULL }", False),
    ("{ $.SomeOtherObject NOT EXISTS }", True),
    ("{ $.SomeObject NOT EXISTS }", False),
    ("{ $.SomeObject EXISTS }", True),
    ("{ $.ThisFlag IS TRUE }", True),
    ("{ $.ThisFlag IS FALSE }", False),
    ("{ $.['cluster.name'] = \"c\" }", True),
    ("{ $.latency > 500 }", True),
    ("{ $.latency >= 800 }", True),
    ("{ $.latency < 500 }", False),
    ("{ $.latency = 8e2 }", True),
    ("{ $.latency != 800 }", False),
    ("{ $.missing != 800 }", False),                   # != needs the field
    ("{ $.eventType > 5 }", False),                    # a string is no number
    ("{ $.eventType = %Update.*% }", True),
    ("{ $.objectList[*].name = \"b\" }", True),
])
def test_json_patterns_match_as_aws_documents(pattern, matches):
    assert bool(compile_pattern(pattern)(CLOUDTRAIL_LIKE)) is matches


USERS = json.dumps({
    "user": {"id": 1, "email": "Jane.Doe@example.com"},
    "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
    "actions": ["GET", "PUT", "DELETE"],
    "coordinates": [[0, 1], [2, 3]],
})


@pytest.mark.parametrize(("pattern", "matches"), [
    ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
    ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', False),
    ('{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nomatch" }',
     False),
    ('{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch") && $.actions[2] = "nomatch" }',
     False),
    ("{ $.coordinates[0][1] = 1 }", True),
    ('{ $.user.id = 2 || $.actions[0] = "GET" }', True),
    ('{ $.actions[0] = "GET" && $.user.id = 1 || $.user.id = 99 }', True),  # && binds tighter than ||
])
def test_compound_json_patterns_match_as_aws_documents(pattern, matches):
    assert bool(compile_pattern(pattern)(USERS)) is matches


def test_json_patterns_never_match_text_events():
    assert compile_pattern("{ $.level EXISTS }")("level=ERROR not json") is None
    assert compile_pattern("{ $.level NOT EXISTS }")('["an", "array"]') is None


def test_the_match_gives_the_json_value_a_metric_filter_reads():
    match = compile_pattern("{ $.latency > 500 }")(CLOUDTRAIL_LIKE)
    assert match.value("$.latency") == 800
    assert match.value("$.objectList[1].name") == "b"
    assert match.value("$.nothing") is None


# -- space-delimited log events (AWS's example event) ----------------------------------------------
ACCESS_LOG = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534'
NOT_FOUND = '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /index.html HTTP/1.0" 404 -'
SERVER_ERROR = '10.0.0.5 - bob [10/Oct/2000:13:36:01 -0700] "POST /orders HTTP/1.1" 503 2812'


@pytest.mark.parametrize(("pattern", "matched"), [
    ("[ip, user, username, timestamp, request, status_code, bytes]", [0, 1, 2]),
    ("[ip, user, username, timestamp, request, status_code = 4*, bytes]", [1]),
    ("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", [1]),
    ('[ip, user, username, timestamp, request = "*html*", status_code, bytes]', [1]),
    ("[ip, user, ..., status_code = 5*, bytes]", [2]),
    ("[..., status_code >= 400, bytes]", [1, 2]),
    ("[..., bytes > 1000]", [0, 2]),
    ("[ip, user, username, timestamp, request, status_code = 404 || status_code = 503, bytes]", [1, 2]),
    ("[ip, user, username, timestamp, request, status_code >= 200 && status_code < 300, bytes]", [0]),
    ("[ip = 10.0.0.*, ...]", [2]),
    ("[ip, user, username]", []),                     # without ... the field count must be the same
    ("[..., username = bob, timestamp, request, status_code, bytes]", [2]),
    ("[ip, user != -, ...]", []),
    ("[ip, ..., request = %POST%, ...]", [2]),
])
def test_space_delimited_patterns_match_as_aws_documents(pattern, matched):
    matcher = compile_pattern(pattern)
    assert [index for index, event in enumerate([ACCESS_LOG, NOT_FOUND, SERVER_ERROR]) if matcher(event)] == matched


def test_delimited_fields_keep_quoted_and_bracketed_runs_whole():
    assert LogMessage(ACCESS_LOG).delimited_fields == [
        "127.0.0.1", "-", "frank", "10/Oct/2000:13:25:15 -0700", "GET /apache_pb.gif HTTP/1.0", "200", "1534"]


def test_the_match_gives_the_named_field_a_metric_filter_reads():
    match = compile_pattern("[ip, user, ..., status_code = 5*, bytes]")(SERVER_ERROR)
    assert match.value("$bytes") == "2812"
    assert match.value("$status_code") == "503"
    assert match.value("$ip") == "10.0.0.5"


# -- patterns AWS refuses --------------------------------------------------------------------------
@pytest.mark.parametrize("pattern", [
    '"unbalanced',
    'ERROR "half',
    "{ $.level = ",
    "{ $.level = \"ERROR\"",
    "{ }",
    "{ level = 1 }",
    "{ $.latency > slow }",
    "{ ($.a = 1 }",
    "{ $.a IS MAYBE }",
    "{ $.a = 1 && }",
    "[ip, user",
    "[]",
    "[ip, , user]",
    "[ip, ip]",
    "[..., bytes > many]",
    "%%",
    "%[unclosed%",
    "?",
])
def test_invalid_patterns_are_refused_with_a_reason(pattern):
    with pytest.raises(InvalidFilterPattern) as refused:
        compile_pattern(pattern)
    assert str(refused.value)


# -- metric filters: the data points one PutLogEvents publishes (edalab/plugins/logs/metric_filters.py)
def _filter(pattern: str, **transformation) -> dict:
    return {"filterPattern": pattern, "metricTransformations": [
        {"metricName": "M", "metricNamespace": "N", "metricValue": "1", **transformation}]}


EVENTS = [{"timestamp": 1_700_000_000_000 + n, "message": message} for n, message in enumerate([
    json.dumps({"route": "/orders", "latency": 800}), json.dumps({"route": "/orders", "latency": "slow"}),
    json.dumps({"latency": 900}), "START RequestId: 1", "[ERROR 400] BAD REQUEST"])]


def test_a_metric_filter_publishes_the_field_value_with_dimensions_and_the_events_time():
    found = samples([_filter("{ $.latency > 0 }", metricValue="$.latency", unit="Milliseconds",
                             dimensions={"Route": "$.route"})], EVENTS)
    # "slow" is no number (no match for >), the third has no route: only the first publishes
    assert [(s.value, s.unit, s.dimensions) for s in found] == [(800.0, "Milliseconds", (("Route", "/orders"),))]
    assert found[0].timestamp.timestamp() * 1000 == EVENTS[0]["timestamp"]


def test_default_value_is_published_for_every_event_that_does_not_match():
    found = samples([_filter("ERROR", defaultValue=0)], EVENTS)
    assert [s.value for s in found] == [0, 0, 0, 0, 1]


def test_a_literal_metric_value_and_a_space_delimited_field_value():
    assert [s.value for s in samples([_filter("[..., status = 5*, bytes]", metricValue="$bytes")],
                                     [{"timestamp": 0, "message": "GET / 503 2812"}])] == [2812.0]
    assert [s.value for s in samples([_filter("BAD", metricValue="2.5")], EVENTS)] == [2.5]


@pytest.mark.parametrize(("pattern", "transformation", "reason"), [
    ("{ $.a = ", {}, "Invalid metric filter pattern"),
    ("ERROR", {"dimensions": {"Route": "$.route"}}, "does not support dimensions"),
    ("{ $.a = 1 }", {"dimensions": {"A": "$.a", "B": "$.b", "C": "$.c", "D": "$.d"}}, "at most 3"),
    ("{ $.a = 1 }", {"dimensions": {"A": "$.a"}, "defaultValue": 0}, "defaultValue"),
    ("ERROR", {"metricValue": "$.latency"}, "name fields"),
    ("ERROR", {"metricValue": "lots"}, "metric value"),
])
def test_metric_filters_aws_refuses_are_refused_with_the_reason(pattern, transformation, reason):
    with pytest.raises(InvalidMetricFilter, match=reason):
        validate(pattern, _filter(pattern, **transformation)["metricTransformations"])


def test_a_templates_metric_transformation_becomes_the_apis():
    """AWS::Logs::MetricFilter's MetricTransformation (PascalCase, Dimensions as Key/Value lists)."""
    assert api_transformation({"MetricName": "Latency", "MetricNamespace": "Shop", "MetricValue": "$.latency",
                               "Unit": "Milliseconds", "Dimensions": [{"Key": "Route", "Value": "$.route"}]}) == {
        "metricName": "Latency", "metricNamespace": "Shop", "metricValue": "$.latency", "unit": "Milliseconds",
        "dimensions": {"Route": "$.route"}}
    assert api_transformation({"MetricName": "Errors", "MetricNamespace": "Shop", "MetricValue": 1,
                               "DefaultValue": 0})["defaultValue"] == 0.0

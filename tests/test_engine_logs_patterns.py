"""CloudWatch Logs filter patterns on the engine: FilterLogEvents, metric filters (API and
CloudFormation), subscription filters and TestMetricFilter, as AWS documents them.

AWS: "Filter pattern syntax for metric filters, subscription filters, filter log events"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html) and the
PutMetricFilter / MetricTransformation API reference (metricValue from a field, dimensions,
defaultValue "the value to emit when a filter pattern does not match a log event", unit).
LocalStack's community provider ignored every pattern, and its metric filters published 1 for each
event of every log group of the region. Each test here fails on it (EDALAB_STOCK_SERVICES=logs).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from edalab.waiting import wait_for
from support import ROLE, zip_source


@pytest.fixture
def log_group(engine, unique):
    logs = engine.client("logs")
    name = f"/edalab/patterns-{unique}"
    logs.create_log_group(logGroupName=name)
    yield name
    logs.delete_log_group(logGroupName=name)


def put(logs, group: str, stream: str, messages: list[str], start_ms: int, step_ms: int = 1000) -> None:
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": start_ms + index * step_ms, "message": message} for index, message in enumerate(messages)])


def statistics(cloudwatch, namespace: str, metric: str, dimensions: list[dict] | None = None) -> list[dict]:
    now = datetime.now(UTC)
    return sorted(cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName=metric, Dimensions=dimensions or [],
        StartTime=now - timedelta(minutes=30), EndTime=now + timedelta(minutes=5), Period=60,
        Statistics=["Sum", "SampleCount", "Maximum"],
    )["Datapoints"], key=lambda point: point["Timestamp"])


def refused(call) -> str:
    with pytest.raises(ClientError) as error:
        call()
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"
    return error.value.response["Error"]["Message"]


def test_filter_log_events_returns_only_what_the_pattern_matches_in_the_chosen_streams_and_times(engine, log_group):
    logs = engine.client("logs")
    start = int(time.time() * 1000) - 60_000
    put(logs, log_group, "web-1", ["[ERROR 400] BAD REQUEST", "[INFO] ok", '{"level": "ERROR", "latency": 900}'],
        start)
    put(logs, log_group, "web-2", ['10.0.0.5 - bob [x] "POST /orders HTTP/1.1" 503 2812', "[ERROR 419] MISSING ARGUMENTS"],
        start + 500)
    put(logs, log_group, "worker-1", ["[ERROR 420] INVALID ARGUMENTS"], start + 200)

    def messages(**parameters) -> list[str]:
        return [event["message"] for event in logs.filter_log_events(logGroupName=log_group, **parameters)["events"]]

    assert messages(filterPattern="ERROR ARGUMENTS") == ["[ERROR 420] INVALID ARGUMENTS", "[ERROR 419] MISSING ARGUMENTS"]
    assert messages(filterPattern="?BAD ?MISSING") == ["[ERROR 400] BAD REQUEST", "[ERROR 419] MISSING ARGUMENTS"]
    assert messages(filterPattern='"[INFO]"') == ["[INFO] ok"]
    assert messages(filterPattern="ERROR -ARGUMENTS") == ["[ERROR 400] BAD REQUEST", '{"level": "ERROR", "latency": 900}']
    assert messages(filterPattern='{ $.level = "ERROR" && $.latency > 500 }') == ['{"level": "ERROR", "latency": 900}']
    assert messages(filterPattern="[ip, user, ..., status = 5*, bytes]") == [
        '10.0.0.5 - bob [x] "POST /orders HTTP/1.1" 503 2812']
    assert messages(filterPattern="ERROR", logStreamNamePrefix="web-") == [
        "[ERROR 400] BAD REQUEST", "[ERROR 419] MISSING ARGUMENTS", '{"level": "ERROR", "latency": 900}']
    assert messages(filterPattern="ERROR", logStreamNames=["worker-1"]) == ["[ERROR 420] INVALID ARGUMENTS"]
    assert messages(startTime=start + 1000, endTime=start + 2000) == ["[INFO] ok", "[ERROR 419] MISSING ARGUMENTS",
                                                                    '{"level": "ERROR", "latency": 900}']
    # pages of `limit`, oldest first across streams, the next page from nextToken
    first = logs.filter_log_events(logGroupName=log_group, filterPattern="ERROR", limit=2)
    second = logs.filter_log_events(logGroupName=log_group, filterPattern="ERROR", limit=2, nextToken=first["nextToken"])
    assert [e["message"] for e in first["events"] + second["events"]] == [
        "[ERROR 400] BAD REQUEST", "[ERROR 420] INVALID ARGUMENTS", "[ERROR 419] MISSING ARGUMENTS",
        '{"level": "ERROR", "latency": 900}']
    assert "nextToken" not in second
    # a pattern AWS cannot parse, and both ways of naming streams at once, are refused
    assert "pattern" in refused(lambda: logs.filter_log_events(logGroupName=log_group, filterPattern='{ $.level = }'))
    refused(lambda: logs.filter_log_events(logGroupName=log_group, logStreamNames=["web-1"], logStreamNamePrefix="w"))


def test_a_metric_filter_publishes_its_own_groups_matches_with_field_values_dimensions_and_event_time(
        engine, log_group, unique):
    logs, cloudwatch = engine.client("logs"), engine.client("cloudwatch")
    namespace = f"EdaLab/Patterns-{unique}"
    logs.put_metric_filter(
        logGroupName=log_group, filterName="slow-requests", filterPattern="{ $.latency > 500 }",
        metricTransformations=[{"metricName": "Latency", "metricNamespace": namespace, "metricValue": "$.latency",
                                "unit": "Milliseconds", "dimensions": {"Route": "$.route"}}])
    logs.put_metric_filter(
        logGroupName=log_group, filterName="errors", filterPattern="ERROR",
        metricTransformations=[{"metricName": "Errors", "metricNamespace": namespace, "metricValue": "1",
                                "defaultValue": 0}])
    other_group = f"{log_group}-other"
    logs.create_log_group(logGroupName=other_group)
    try:
        ten_minutes_ago = int(time.time() * 1000) - 10 * 60_000
        events = [json.dumps({"route": "/orders", "latency": 800}), json.dumps({"route": "/orders", "latency": 120}),
                  json.dumps({"route": "/orders", "latency": 900, "level": "ERROR"}),
                  json.dumps({"route": "/stock", "latency": 700}), "START RequestId: 1 Version: $LATEST"]
        put(logs, log_group, "app", events, ten_minutes_ago)
        put(logs, other_group, "app", events, ten_minutes_ago)  # another group: its events count for nothing

        orders = wait_for(lambda: statistics(cloudwatch, namespace, "Latency", [{"Name": "Route", "Value": "/orders"}]),
                          what="Latency for /orders", until=lambda points: sum(p["SampleCount"] for p in points) >= 2)
        assert sum(p["Sum"] for p in orders) == 1700 and sum(p["SampleCount"] for p in orders) == 2
        assert max(p["Maximum"] for p in orders) == 900 and {p["Unit"] for p in orders} == {"Milliseconds"}
        # published at the events' own time (ten minutes ago), not when they were put
        assert all(abs(p["Timestamp"].timestamp() * 1000 - ten_minutes_ago) < 120_000 for p in orders)
        stock = statistics(cloudwatch, namespace, "Latency", [{"Name": "Route", "Value": "/stock"}])
        assert sum(p["Sum"] for p in stock) == 700
        errors = wait_for(lambda: statistics(cloudwatch, namespace, "Errors"), what="Errors with its default value",
                          until=lambda points: sum(p["SampleCount"] for p in points) >= 5)
        # 1 for the one ERROR event, defaultValue 0 for each of the 4 others, of this group only
        assert sum(p["Sum"] for p in errors) == 1 and sum(p["SampleCount"] for p in errors) == 5
        assert statistics(cloudwatch, namespace, "Latency") == []  # every point has its Route dimension
        described = logs.describe_log_groups(logGroupNamePrefix=log_group)["logGroups"]
        assert {g["logGroupName"]: g["metricFilterCount"] for g in described} == {log_group: 2, other_group: 0}

        # a log group's metric filters are deleted with it
        logs.put_metric_filter(logGroupName=other_group, filterName="gone-with-its-group", filterPattern="",
                               metricTransformations=[{"metricName": "All", "metricNamespace": namespace,
                                                       "metricValue": "1"}])
        logs.delete_log_group(logGroupName=other_group)
        assert logs.describe_metric_filters(logGroupName=other_group)["metricFilters"] == []
    finally:
        try:
            logs.delete_log_group(logGroupName=other_group)
        except logs.exceptions.ResourceNotFoundException:
            pass


def test_invalid_patterns_are_refused_and_test_metric_filter_answers_as_aws(engine, log_group, unique):
    logs = engine.client("logs")
    transformation = {"metricName": "M", "metricNamespace": f"EdaLab/Patterns-{unique}", "metricValue": "1"}
    assert "pattern" in refused(lambda: logs.put_metric_filter(
        logGroupName=log_group, filterName="bad", filterPattern='{ $.latency > }', metricTransformations=[transformation]))
    assert "dimensions" in refused(lambda: logs.put_metric_filter(
        logGroupName=log_group, filterName="bad", filterPattern="ERROR",
        metricTransformations=[{**transformation, "dimensions": {"Route": "$.route"}}]))
    assert "pattern" in refused(lambda: logs.put_subscription_filter(
        logGroupName=log_group, filterName="bad", filterPattern='"unbalanced',
        destinationArn="arn:aws:lambda:us-east-1:000000000000:function:nothing"))
    assert "pattern" in refused(lambda: logs.test_metric_filter(filterPattern="[ip, user", logEventMessages=["a b"]))
    assert logs.describe_metric_filters(logGroupName=log_group)["metricFilters"] == []

    tested = logs.test_metric_filter(
        filterPattern="[ip, user, ..., status = 5*, bytes]",
        logEventMessages=['10.0.0.5 - bob "POST /orders" 503 2812', '10.0.0.6 - amy "GET /" 200 10', "short"])
    assert tested["matches"] == [{"eventNumber": 1, "eventMessage": '10.0.0.5 - bob "POST /orders" 503 2812',
                                  "extractedValues": {"$ip": "10.0.0.5", "$user": "-", "$status": "503",
                                                      "$bytes": "2812"}}]


SUBSCRIBER = '''
import base64, gzip, json

def handler(event, context):
    batch = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    for log_event in batch["logEvents"]:
        print("FORWARDED " + batch["subscriptionFilters"][0] + " " + log_event["message"])
'''


def test_each_subscription_filter_forwards_only_the_events_its_pattern_matches(engine, log_group, unique):
    """Two filters on one group (AWS allows two): each forwards its own matches, whatever the other's."""
    logs, lam = engine.client("logs"), engine.client("lambda")
    name = f"subscriber-{unique}"
    arn = lam.create_function(FunctionName=name, Runtime="python3.13", Handler="app.handler", Role=ROLE,
                              Code={"ZipFile": zip_source(SUBSCRIBER)}, Timeout=10)["FunctionArn"]
    try:
        wait_for(lambda: lam.get_function(FunctionName=name)["Configuration"]["State"],
                 what=f"function {name} Active", until=lambda state: state == "Active")
        logs.put_subscription_filter(logGroupName=log_group, filterName="errors",
                                     filterPattern='{ $.level = "ERROR" }', destinationArn=arn)
        logs.put_subscription_filter(logGroupName=log_group, filterName="infos",
                                     filterPattern='{ $.level = "INFO" }', destinationArn=arn)
        now = int(time.time() * 1000)
        put(logs, log_group, "app", [json.dumps({"level": "INFO", "n": 1}), json.dumps({"level": "ERROR", "n": 2}),
                                     "plain ERROR text", json.dumps({"level": "ERROR", "n": 3})], now, step_ms=1)

        def forwarded() -> list[str]:
            try:
                found = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern="FORWARDED")["events"]
            except logs.exceptions.ResourceNotFoundException:
                return []
            return sorted(e["message"].strip().removeprefix("FORWARDED ") for e in found)

        received = wait_for(forwarded, what="the subscriber's log of forwarded events", until=lambda got: len(got) >= 3)
        assert received == ['errors {"level": "ERROR", "n": 2}', 'errors {"level": "ERROR", "n": 3}',
                            'infos {"level": "INFO", "n": 1}']
    finally:
        lam.delete_function(FunctionName=name)
        try:
            logs.delete_log_group(logGroupName=f"/aws/lambda/{name}")
        except logs.exceptions.ResourceNotFoundException:
            pass


def _template(pattern: str, namespace: str) -> str:
    return json.dumps({"Resources": {
        "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
        "Filter": {"Type": "AWS::Logs::MetricFilter", "Properties": {
            "LogGroupName": {"Ref": "Group"}, "FilterPattern": pattern,
            "MetricTransformations": [{"MetricName": "Latency", "MetricNamespace": namespace,
                                       "MetricValue": "$.latency"}]}}},
        "Outputs": {"FilterName": {"Value": {"Ref": "Filter"}}, "GroupName": {"Value": {"Ref": "Group"}}}})


def stack_status(cfn, stack: str) -> str:
    try:
        return cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except ClientError as error:
        if "does not exist" in str(error):
            return "DELETE_COMPLETE"
        raise


def test_aws_logs_metric_filter_deploys_updates_and_deletes_through_cloudformation(engine, unique):
    cfn, logs, cloudwatch = engine.client("cloudformation"), engine.client("logs"), engine.client("cloudwatch")
    stack, namespace = f"patterns-{unique}", f"EdaLab/Stack-{unique}"

    def settled() -> dict:
        return wait_for(lambda: cfn.describe_stacks(StackName=stack)["Stacks"][0], what=f"stack {stack} settled",
                        until=lambda s: not s["StackStatus"].endswith("IN_PROGRESS"))

    cfn.create_stack(StackName=stack, TemplateBody=_template("{ $.latency > 500 }", namespace))
    try:
        created = settled()
        assert created["StackStatus"] == "CREATE_COMPLETE"
        outputs = {o["OutputKey"]: o["OutputValue"] for o in created["Outputs"]}
        group, filter_name = outputs["GroupName"], outputs["FilterName"]
        described = logs.describe_metric_filters(logGroupName=group)["metricFilters"]
        assert [(f["filterName"], f["filterPattern"]) for f in described] == [(filter_name, "{ $.latency > 500 }")]

        put(logs, group, "app", [json.dumps({"latency": 800}), json.dumps({"latency": 100})],
            int(time.time() * 1000) - 1000)
        points = wait_for(lambda: statistics(cloudwatch, namespace, "Latency"), what="Latency from the stack's filter",
                          until=lambda found: sum(p["SampleCount"] for p in found) >= 1)
        assert sum(p["Sum"] for p in points) == 800

        cfn.update_stack(StackName=stack, TemplateBody=_template("{ $.latency > 50 }", namespace))
        assert settled()["StackStatus"] == "UPDATE_COMPLETE"
        described = logs.describe_metric_filters(logGroupName=group)["metricFilters"]
        assert [(f["filterName"], f["filterPattern"]) for f in described] == [(filter_name, "{ $.latency > 50 }")]

        cfn.delete_stack(StackName=stack)
        wait_for(lambda: stack_status(cfn, stack), what=f"stack {stack} deleted",
                 until=lambda status: status == "DELETE_COMPLETE")
        assert logs.describe_metric_filters(metricName="Latency", metricNamespace=namespace)["metricFilters"] == []
    finally:
        try:
            cfn.delete_stack(StackName=stack)
        except ClientError:
            pass

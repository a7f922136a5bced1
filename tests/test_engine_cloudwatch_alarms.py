"""CloudWatch alarms and dashboards on the engine, as AWS documents them (issue #13, item 5).

- A metric alarm is evaluated every period when the period is shorter than a minute ("Alarm
  evaluation", CloudWatch user guide), not every Period × EvaluationPeriods as LocalStack does;
  it reads exactly its own dimension set.
- Every state change is an `aws.cloudwatch` "CloudWatch Alarm State Change" event on the default
  bus ("Alarm events and EventBridge"), which a rule can route to a queue.
- A composite alarm's AND needs every child ("Create a composite alarm"); DescribeAlarms lists
  composite alarms only when AlarmTypes asks for them, and finds a child's parents.
- An alarm on metric math (`100 * errors / invocations`) leaves INSUFFICIENT_DATA.
- `AWS::CloudWatch::Dashboard` creates the dashboard; PutDashboard refuses a body without widgets.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from edalab.waiting import wait_for
from support import allow_service_to_send, create_queue, receive_all

PERIOD = 10


def _state(cloudwatch, name: str) -> str:
    found = cloudwatch.describe_alarms(AlarmNames=[name], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    return (found["MetricAlarms"] + found["CompositeAlarms"])[0]["StateValue"]


def _wait_state(cloudwatch, name: str, state: str, timeout: float) -> None:
    wait_for(lambda: _state(cloudwatch, name), what=f"alarm {name} in {state}", timeout=timeout, interval=0.25,
             until=lambda seen: seen == state)


def _put(cloudwatch, namespace: str, name: str, value: float, dimensions: list[dict]) -> None:
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[{
        "MetricName": name, "Dimensions": dimensions, "Value": value, "Timestamp": datetime.now(UTC)}])


def test_a_10_s_alarm_fires_within_a_period_and_its_state_change_event_reaches_a_queue(engine, unique):
    cloudwatch, events, sqs = engine.client("cloudwatch"), engine.client("events"), engine.client("sqs")
    name, namespace = f"errors-{unique}", f"EdaLab/Alarms-{unique}"
    dimensions = [{"Name": "Service", "Value": f"orders-{unique}"}]
    queue_url, queue_arn = create_queue(sqs, f"alarm-events-{unique}")
    allow_service_to_send(sqs, queue_url, queue_arn, "events.amazonaws.com")
    alarm_arn = f"arn:aws:cloudwatch:us-east-1:000000000000:alarm:{name}"
    events.put_rule(Name=f"alarm-changes-{unique}", EventPattern=json.dumps({
        "source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"], "resources": [alarm_arn]}))
    events.put_targets(Rule=f"alarm-changes-{unique}", Targets=[{"Id": "queue", "Arn": queue_arn}])
    # a series with more dimensions, and one whose value contains ours: neither is this alarm's metric
    _put(cloudwatch, namespace, "Errors", 100, [{"Name": "Service", "Value": f"orders-{unique}-dlq"}])
    _put(cloudwatch, namespace, "Errors", 100, [*dimensions, {"Name": "Stage", "Value": "dev"}])
    # 10 evaluation periods: LocalStack would look at it every 100 s
    cloudwatch.put_metric_alarm(
        AlarmName=name, Namespace=namespace, MetricName="Errors", Dimensions=dimensions, Statistic="Sum",
        Period=PERIOD, EvaluationPeriods=10, DatapointsToAlarm=1, Threshold=5,
        ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching", AlarmDescription="orders fail",
    )
    try:
        _wait_state(cloudwatch, name, "OK", timeout=3 * PERIOD)  # its own series has no data: not breaching
        _put(cloudwatch, namespace, "Errors", 9, dimensions)
        breached = time.monotonic()
        _wait_state(cloudwatch, name, "ALARM", timeout=2 * PERIOD + 5)
        assert time.monotonic() - breached <= 2 * PERIOD + 5

        changes = [json.loads(m["Body"]) for m in receive_all(sqs, queue_url, expected=2, timeout=15)]
        assert [(c["detail"]["previousState"]["value"], c["detail"]["state"]["value"]) for c in changes] == [
            ("INSUFFICIENT_DATA", "OK"), ("OK", "ALARM")]
        fired = changes[1]
        assert fired["source"] == "aws.cloudwatch" and fired["detail-type"] == "CloudWatch Alarm State Change"
        assert fired["resources"] == [alarm_arn]
        assert fired["detail"]["alarmName"] == name
        assert fired["detail"]["state"]["reason"].startswith("Threshold Crossed: 1 out of the last 10 datapoints [9.0")
        assert json.loads(fired["detail"]["state"]["reasonData"])["recentDatapoints"] == [9.0]
        assert fired["detail"]["configuration"]["description"] == "orders fail"
        [metric] = fired["detail"]["configuration"]["metrics"]
        assert metric["metricStat"]["metric"] == {"namespace": namespace, "name": "Errors",
                                                  "dimensions": {"Service": f"orders-{unique}"}}

        history = cloudwatch.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")
        assert [h["HistorySummary"] for h in history["AlarmHistoryItems"]] == [
            "Alarm updated from OK to ALARM", "Alarm updated from INSUFFICIENT_DATA to OK"]
    finally:
        cloudwatch.delete_alarms(AlarmNames=[name])
        events.remove_targets(Rule=f"alarm-changes-{unique}", Ids=["queue"])
        events.delete_rule(Name=f"alarm-changes-{unique}")
        sqs.delete_queue(QueueUrl=queue_url)


def test_a_composite_and_needs_every_child(engine, unique):
    cloudwatch = engine.client("cloudwatch")
    children = [f"child-{n}-{unique}" for n in ("a", "b")]
    for child in children:  # no data, missing data ignored: only SetAlarmState moves them
        cloudwatch.put_metric_alarm(
            AlarmName=child, Namespace=f"EdaLab/None-{unique}", MetricName="Nothing", Statistic="Sum",
            Period=PERIOD, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="ignore")
    both, either = f"both-{unique}", f"a-not-b-{unique}"
    cloudwatch.put_composite_alarm(AlarmName=both, AlarmRule=f'ALARM("{children[0]}") AND ALARM("{children[1]}")')
    cloudwatch.put_composite_alarm(AlarmName=either,
                                   AlarmRule=f"ALARM({children[0]}) AND NOT (ALARM({children[1]}) OR OK({children[1]}))",
                                   ActionsSuppressor=children[0], ActionsSuppressorWaitPeriod=60,
                                   ActionsSuppressorExtensionPeriod=60)
    try:
        assert _state(cloudwatch, both) == "OK"  # evaluated at creation
        cloudwatch.set_alarm_state(AlarmName=children[0], StateValue="ALARM", StateReason="test")
        assert _state(cloudwatch, both) == "OK"
        assert _state(cloudwatch, either) == "ALARM"
        [suppressed] = cloudwatch.describe_alarms(AlarmNames=[either], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
        assert suppressed["ActionsSuppressedBy"] == "Alarm"  # its suppressor, child a, is in ALARM
        cloudwatch.set_alarm_state(AlarmName=children[1], StateValue="ALARM", StateReason="test")
        assert _state(cloudwatch, both) == "ALARM"
        assert _state(cloudwatch, either) == "OK"
        [composite] = cloudwatch.describe_alarms(AlarmNames=[both], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
        assert children[1] in composite["StateReason"] and "transitioned to ALARM" in composite["StateReason"]
        assert cloudwatch.describe_alarms(AlarmNames=[both])["CompositeAlarms"] == []  # metric alarms unless asked
        parents = cloudwatch.describe_alarms(ParentsOfAlarmName=children[1])["CompositeAlarms"]
        assert sorted(p["AlarmName"] for p in parents) == sorted([both, either])

        with pytest.raises(ClientError) as refused:
            cloudwatch.put_composite_alarm(AlarmName=f"bad-{unique}", AlarmRule=f"ALARM({children[0]}) AND")
        assert refused.value.response["Error"]["Code"] == "ValidationError"
    finally:
        cloudwatch.delete_alarms(AlarmNames=[both, either, *children])


def test_a_metric_math_error_rate_alarm_leaves_insufficient_data(engine, unique):
    cloudwatch = engine.client("cloudwatch")
    name, namespace = f"error-rate-{unique}", f"EdaLab/Rate-{unique}"
    dimensions = [{"Name": "FunctionName", "Value": f"pay-{unique}"}]

    def metric(query_id, metric_name):
        return {"Id": query_id, "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric_name, "Dimensions": dimensions},
            "Period": PERIOD, "Stat": "Sum"}}

    cloudwatch.put_metric_alarm(
        AlarmName=name, EvaluationPeriods=1, Threshold=10, ComparisonOperator="GreaterThanThreshold",
        Metrics=[{"Id": "rate", "Expression": "100 * errors / invocations", "Label": "Error rate", "ReturnData": True},
                 metric("errors", "Errors"), metric("invocations", "Invocations")],
    )
    try:
        assert _state(cloudwatch, name) == "INSUFFICIENT_DATA"
        _put(cloudwatch, namespace, "Invocations", 10, dimensions)
        _put(cloudwatch, namespace, "Errors", 5, dimensions)
        _wait_state(cloudwatch, name, "ALARM", timeout=2 * PERIOD + 5)
        [alarm] = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        assert "[50.0 (" in alarm["StateReason"] and "greater than the threshold (10.0)" in alarm["StateReason"]
    finally:
        cloudwatch.delete_alarms(AlarmNames=[name])


DASHBOARD_BODY = {"widgets": [{"type": "text", "x": 0, "y": 0, "width": 12, "height": 2,
                               "properties": {"markdown": "# Orders"}}]}


def _template(body: dict, name: str) -> str:
    return json.dumps({"Resources": {"Board": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
        "DashboardName": name, "DashboardBody": json.dumps(body)}}}, "Outputs": {"Name": {"Value": {"Ref": "Board"}}}})


def _stack_status(cloudformation, stack: str) -> str:
    return cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]


def test_a_dashboard_deploys_through_cloudformation_and_bad_bodies_are_refused(engine, unique):
    cloudformation, cloudwatch = engine.client("cloudformation"), engine.client("cloudwatch")
    name, stack = f"orders-{unique}", f"dashboard-{unique}"
    cloudformation.create_stack(StackName=stack, TemplateBody=_template(DASHBOARD_BODY, name))
    wait_for(lambda: _stack_status(cloudformation, stack), what=f"stack {stack} created", timeout=60,
             until=lambda status: status.endswith("COMPLETE") or status.endswith("FAILED"))
    try:
        assert _stack_status(cloudformation, stack) == "CREATE_COMPLETE"
        [output] = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
        assert output["OutputValue"] == name
        assert json.loads(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"]) == DASHBOARD_BODY
        with pytest.raises(ClientError) as refused:
            cloudwatch.put_dashboard(DashboardName=f"bad-{unique}", DashboardBody=json.dumps({"rows": []}))
        assert refused.value.response["Error"]["Code"] == "InvalidParameterInput"
        assert "widgets" in refused.value.response["Error"]["Message"]
    finally:
        cloudformation.delete_stack(StackName=stack)
    wait_for(lambda: [d["DashboardName"] for d in cloudwatch.list_dashboards(DashboardNamePrefix=name)
                      ["DashboardEntries"]], what=f"dashboard {name} deleted with its stack", timeout=60,
             until=lambda names: names == [])


def _alarms_template(name: str, threshold: int, description: str | None) -> str:
    metric = {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmName": name, "Namespace": "EdaLab/Test", "MetricName": "Depth", "Statistic": "Maximum",
        "Period": 60, "EvaluationPeriods": 1, "Threshold": threshold, "ComparisonOperator": "GreaterThanThreshold"}}
    composite = {"Type": "AWS::CloudWatch::CompositeAlarm", "Properties": {
        "AlarmName": f"{name}-any", "AlarmRule": {"Fn::Sub": f'ALARM("${{Depth}}")'}}}
    if description is not None:
        metric["Properties"]["AlarmDescription"] = description
        composite["Properties"]["AlarmDescription"] = description
    return json.dumps({"Resources": {"Depth": metric, "Any": composite}})


def test_a_stack_update_changes_its_alarms(engine, unique):
    """AWS: updating an AWS::CloudWatch::Alarm (or CompositeAlarm) puts it again with the new
    properties. Stock LocalStack reports UPDATE_COMPLETE and leaves the alarm as it was."""
    cloudformation, cloudwatch = engine.client("cloudformation"), engine.client("cloudwatch")
    name, stack = f"depth-{unique}", f"alarms-{unique}"
    done = lambda status: status.endswith("COMPLETE") or status.endswith("FAILED")  # noqa: E731
    cloudformation.create_stack(StackName=stack, TemplateBody=_alarms_template(name, 5, None))
    wait_for(lambda: _stack_status(cloudformation, stack), what=f"stack {stack} created", timeout=60, until=done)
    try:
        cloudformation.update_stack(StackName=stack, TemplateBody=_alarms_template(name, 9, "page on-call"))
        wait_for(lambda: _stack_status(cloudformation, stack), what=f"stack {stack} updated", timeout=60,
                 until=lambda status: done(status) and status.startswith("UPDATE"))
        assert _stack_status(cloudformation, stack) == "UPDATE_COMPLETE"
        found = cloudwatch.describe_alarms(AlarmNamePrefix=name, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        [metric], [composite] = found["MetricAlarms"], found["CompositeAlarms"]
        assert (metric["Threshold"], metric.get("AlarmDescription")) == (9, "page on-call")
        assert composite.get("AlarmDescription") == "page on-call"
        assert composite["AlarmRule"] == f'ALARM("{name}")'
    finally:
        cloudformation.delete_stack(StackName=stack)

"""What an alarm's state change says to the outside: the EventBridge event, and the alarm actions.

Why this exists: on AWS every state change of a metric or composite alarm is also an event on the
account's default bus, source `aws.cloudwatch`, detail-type "CloudWatch Alarm State Change", with a
`detail` of `alarmName`, `state` and `previousState` ({value, reason, reasonData, timestamp}) and
`configuration` (the alarm's metrics, or its rule for a composite alarm), as "Alarm events and
EventBridge" in the CloudWatch user guide shows. LocalStack sends no event at all.

The SNS and Lambda action payloads are LocalStack's own builders: the labs and the mail relay read
that JSON (AlarmName, NewStateValue, StateChangeTime, Trigger ...). One field is put right: AWS
names the region by its long name ("US East (N. Virginia)") in the SNS message's `Region` and in the
email's subject (`ALARM: "name" in US East (N. Virginia)`), where LocalStack writes "Us east 1".
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime

LOG = logging.getLogger(__name__)

EVENT_SOURCE = "aws.cloudwatch"
EVENT_DETAIL_TYPE = "CloudWatch Alarm State Change"


def aws_timestamp(moment: datetime | None) -> str | None:
    """AWS's form in alarm events: 2019-10-02T17:04:40.985+0000."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _metric_stat(stat: dict) -> dict:
    metric = stat.get("Metric", {})
    shown = {
        "metric": {
            "namespace": metric.get("Namespace"),
            "name": metric.get("MetricName"),
            "dimensions": {d["Name"]: d.get("Value") for d in metric.get("Dimensions") or []},
        },
        "period": int(stat.get("Period", 0)),
        "stat": stat.get("Stat"),
    }
    if stat.get("Unit"):
        shown["unit"] = stat["Unit"]
    return shown


def event_metrics(alarm: dict) -> list[dict]:
    """The `configuration.metrics` of a metric alarm's event."""
    if alarm.get("Metrics"):
        shown = []
        for query in alarm["Metrics"]:
            entry = {"id": query["Id"], "returnData": query.get("ReturnData", True)}
            if query.get("Expression"):
                entry["expression"] = query["Expression"]
            if query.get("Label"):
                entry["label"] = query["Label"]
            if query.get("MetricStat"):
                entry["metricStat"] = _metric_stat(query["MetricStat"])
            shown.append(entry)
        return shown
    stat = {
        "Metric": {k: alarm.get(k) for k in ("Namespace", "MetricName", "Dimensions")},
        "Period": alarm.get("Period", 0),
        "Stat": alarm.get("Statistic") or alarm.get("ExtendedStatistic"),
        "Unit": alarm.get("Unit"),
    }
    return [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, alarm["AlarmArn"])), "metricStat": _metric_stat(stat),
             "returnData": True}]


def _state(value: str, reason: str, reason_data: str | None, timestamp: datetime | None) -> dict:
    state = {"value": value, "reason": reason, "timestamp": aws_timestamp(timestamp)}
    if reason_data:
        state["reasonData"] = reason_data
    return state


def state_change_event(alarm: dict, previous: dict, composite: bool) -> dict:
    """A PutEvents entry for the alarm's change from `previous` (its StateValue, StateReason,
    StateReasonData and StateUpdatedTimestamp before) to its present state."""
    if composite:
        configuration = {"alarmRule": alarm.get("AlarmRule")}
        for key, name in (("ActionsSuppressor", "actionsSuppressor"),
                          ("ActionsSuppressorWaitPeriod", "actionsSuppressorWaitPeriod"),
                          ("ActionsSuppressorExtensionPeriod", "actionsSuppressorExtensionPeriod")):
            if alarm.get(key) is not None:
                configuration[name] = alarm[key]
    else:
        configuration = {"metrics": event_metrics(alarm)}
    if alarm.get("AlarmDescription"):
        configuration["description"] = alarm["AlarmDescription"]
    detail = {
        "alarmName": alarm["AlarmName"],
        "state": _state(alarm["StateValue"], alarm.get("StateReason", ""), alarm.get("StateReasonData"),
                        alarm.get("StateUpdatedTimestamp")),
        "previousState": _state(previous["StateValue"], previous.get("StateReason", ""),
                                previous.get("StateReasonData"), previous.get("StateUpdatedTimestamp")),
        "configuration": configuration,
    }
    return {
        "Source": EVENT_SOURCE,
        "DetailType": EVENT_DETAIL_TYPE,
        "Resources": [alarm["AlarmArn"]],
        "Detail": json.dumps(detail),
        "Time": alarm.get("StateUpdatedTimestamp") or datetime.now(UTC),
    }


def region_name(region: str) -> str:
    """AWS's long name of a region (botocore's endpoint data), e.g. "US East (N. Virginia)"."""
    from botocore.loaders import Loader

    for partition in Loader().load_data("endpoints").get("partitions", []):
        if found := partition.get("regions", {}).get(region, {}).get("description"):
            return found
    return region


def with_region_name(message: str, region: str) -> str:
    """LocalStack's SNS alarm message with AWS's long region name in its `Region` field."""
    try:
        body = json.loads(message)
    except ValueError:
        return message
    if isinstance(body, dict) and "Region" in body:
        body["Region"] = region_name(region)
        return json.dumps(body)
    return message


def put_state_change_event(account_id: str, region: str, entry: dict) -> None:
    """Puts the event on the default bus of the alarm's account and region."""
    from localstack.aws.connect import connect_to

    try:
        events = connect_to(aws_access_key_id=account_id, region_name=region).events
        answer = events.put_events(Entries=[entry])
        if answer.get("FailedEntryCount"):
            LOG.warning("edalab: the alarm state-change event was refused: %s", answer.get("Entries"))
    except Exception as error:  # an event bus problem must not stop alarm evaluation
        LOG.warning("edalab: could not put the alarm state-change event for %s: %s", entry["Resources"], error)


def run_actions(alarm_object, old_state: str, old_reason: str, old_timestamp, triggering=None) -> None:
    """Sends the actions for the alarm's new state (SNS topics, Lambda functions), with LocalStack's
    payloads. `triggering` is the child alarm whose change moved a composite alarm."""
    from localstack.aws.connect import connect_to
    from localstack.services.cloudwatch.models import LocalStackCompositeAlarm
    from localstack.services.cloudwatch.provider_v2 import (
        create_message_response_update_composite_alarm_state_sns,
        create_message_response_update_state_lambda,
        create_message_response_update_state_sns,
    )
    from localstack.utils.aws import arns
    from localstack.utils.aws.arns import lambda_function_name

    alarm = alarm_object.alarm
    if not alarm.get("ActionsEnabled", True):
        return
    state = alarm["StateValue"]
    actions = {"OK": alarm.get("OKActions"), "ALARM": alarm.get("AlarmActions")}.get(
        state, alarm.get("InsufficientDataActions")) or []
    composite = isinstance(alarm_object, LocalStackCompositeAlarm)
    for action in actions:
        try:
            target = arns.parse_arn(action)
            clients = connect_to(region_name=target["region"], aws_access_key_id=target["account"])
            if target["service"] == "sns":
                if composite:
                    message = create_message_response_update_composite_alarm_state_sns(
                        alarm_object, triggering or alarm_object, old_state)
                else:
                    message = create_message_response_update_state_sns(alarm_object, old_state)
                subject = f'{state}: "{alarm["AlarmName"]}" in {region_name(alarm_object.region)}'
                clients.sns.publish(TopicArn=action, Subject=subject,
                                    Message=with_region_name(message, alarm_object.region))
            elif target["service"] == "lambda" and not composite:
                payload = create_message_response_update_state_lambda(alarm_object, old_state, old_reason,
                                                                      old_timestamp)
                clients.lambda_.invoke(FunctionName=lambda_function_name(action), Payload=payload,
                                       InvocationType="Event")
            else:
                LOG.warning("edalab: alarm action %s is not supported here and was not run", action)
        except Exception as error:
            LOG.warning("edalab: alarm %s could not run action %s: %s", alarm["AlarmName"], action, error)

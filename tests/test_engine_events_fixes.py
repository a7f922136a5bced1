"""EventBridge as AWS documents it (issue #13 item 6): archive and replay, AWS::Events::Archive
through CloudFormation, target dead-letter queues, input transformers that keep falsy values,
invalid event patterns rejected, disabled rules silent.

Each test fails on LocalStack's stock provider (EDALAB_STOCK_SERVICES=events)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from support import allow_service_to_send, bodies, create_queue, receive_all

from edalab.waiting import wait_for


@pytest.fixture
def bus(engine, unique):
    """A bus of the test's own (archives and replays never see other tests' events); removed
    with its rules, archives and targets afterwards."""
    events = engine.client("events")
    name = f"eb-fix-{unique}"
    arn = events.create_event_bus(Name=name)["EventBusArn"]
    yield name, arn
    for archive in events.list_archives(EventSourceArn=arn)["Archives"]:
        events.delete_archive(ArchiveName=archive["ArchiveName"])
    for rule in events.list_rules(EventBusName=name)["Rules"]:
        targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=name)["Targets"]
        if targets:
            events.remove_targets(Rule=rule["Name"], EventBusName=name, Ids=[t["Id"] for t in targets], Force=True)
        events.delete_rule(Name=rule["Name"], EventBusName=name, Force=True)
    events.delete_event_bus(Name=name)


def queue_for_events(sqs, name: str) -> tuple[str, str]:
    url, arn = create_queue(sqs, name)
    allow_service_to_send(sqs, url, arn, "events.amazonaws.com")
    return url, arn


def nothing_more(sqs, url: str) -> bool:
    return sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages") is None


def test_replay_sends_the_windows_archived_events_to_the_chosen_rules_with_replay_name(engine, unique, bus):
    """AWS "Archiving and replaying events": the archive keeps the events its pattern matches; a
    replay sends those between EventStartTime and EventEndTime to the bus's rules (only those in
    FilterArns when given), each with a `replay-name` field, and DescribeReplay ends COMPLETED."""
    events, sqs = engine.client("events"), engine.client("sqs")
    bus_name, bus_arn = bus
    source = f"shop.{unique}"
    archive_arn = events.create_archive(
        ArchiveName=f"orders-{unique}", EventSourceArn=bus_arn, EventPattern=json.dumps({"source": [source]}),
    )["ArchiveArn"]
    now = datetime.now(UTC).replace(microsecond=0)
    events.put_events(Entries=[
        {"EventBusName": bus_name, "Source": source, "DetailType": "OrderPlaced",
         "Detail": json.dumps({"order": order}), "Time": now - timedelta(minutes=minutes_ago)}
        for order, minutes_ago in ((1, 30), (2, 20), (3, 10))
    ] + [{"EventBusName": bus_name, "Source": "somebody.else", "DetailType": "OrderPlaced", "Detail": "{}",
          "Time": now - timedelta(minutes=20)}])
    archived = wait_for(lambda: events.describe_archive(ArchiveName=f"orders-{unique}"),
                        what="3 events in the archive", timeout=10, until=lambda a: a["EventCount"] >= 3)
    assert archived["EventCount"] == 3  # the other source is not archived

    chosen_url, chosen_arn = queue_for_events(sqs, f"eb-replayed-{unique}")
    other_url, other_arn = queue_for_events(sqs, f"eb-not-chosen-{unique}")
    pattern = json.dumps({"source": [source]})
    chosen_rule = events.put_rule(Name=f"chosen-{unique}", EventBusName=bus_name, EventPattern=pattern)["RuleArn"]
    events.put_targets(Rule=f"chosen-{unique}", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": chosen_arn}])
    events.put_rule(Name=f"other-{unique}", EventBusName=bus_name, EventPattern=pattern)
    events.put_targets(Rule=f"other-{unique}", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": other_arn}])

    started = events.start_replay(
        ReplayName=f"replay-{unique}", EventSourceArn=archive_arn,
        EventStartTime=now - timedelta(minutes=25), EventEndTime=now - timedelta(minutes=15),
        Destination={"Arn": bus_arn, "FilterArns": [chosen_rule]},
    )
    assert started["State"] in {"STARTING", "RUNNING", "COMPLETED"} and "ReplayStartTime" in started
    [replayed] = bodies(receive_all(sqs, chosen_url, expected=1, timeout=10))
    assert replayed["detail"] == {"order": 2} and replayed["replay-name"] == f"replay-{unique}"
    assert replayed["time"] == (now - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    replay = wait_for(lambda: events.describe_replay(ReplayName=f"replay-{unique}"),
                      what="the replay COMPLETED", timeout=10, until=lambda r: r["State"] == "COMPLETED")
    assert replay["EventLastReplayedTime"] == now - timedelta(minutes=20)
    assert replay["ReplayStartTime"] <= replay["ReplayEndTime"]
    assert f"replay-{unique}" in [r["ReplayName"] for r in events.list_replays(State="COMPLETED")["Replays"]]
    assert nothing_more(sqs, chosen_url) and nothing_more(sqs, other_url)  # one event, one rule
    after = events.describe_archive(ArchiveName=f"orders-{unique}")
    assert after["EventCount"] == 3 and after["SizeBytes"] > 0  # replayed events are not archived again
    for url in (chosen_url, other_url):
        sqs.delete_queue(QueueUrl=url)


def test_failed_delivery_reaches_the_dead_letter_queue_with_aws_attributes(engine, unique, bus):
    """AWS "Using dead-letter queues to process undelivered events": a target that no longer
    exists is not retried; the event goes to the target's DLQ with RULE_ARN, TARGET_ARN,
    ERROR_CODE, ERROR_MESSAGE and RETRY_ATTEMPTS attributes."""
    events, sqs = engine.client("events"), engine.client("sqs")
    bus_name, _ = bus
    dlq_url, dlq_arn = queue_for_events(sqs, f"eb-dlq-{unique}")
    gone_url, gone_queue = queue_for_events(sqs, f"eb-gone-{unique}")
    sqs.delete_queue(QueueUrl=gone_url)
    missing_function = f"arn:aws:lambda:us-east-1:000000000000:function:deleted-{unique}"
    rule_arn = events.put_rule(Name=f"dead-{unique}", EventBusName=bus_name,
                               EventPattern=json.dumps({"source": [f"dead.{unique}"]}))["RuleArn"]
    retry_policy = {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60}
    events.put_targets(Rule=f"dead-{unique}", EventBusName=bus_name, Targets=[
        {"Id": "function", "Arn": missing_function, "DeadLetterConfig": {"Arn": dlq_arn}, "RetryPolicy": retry_policy},
        {"Id": "queue", "Arn": gone_queue, "DeadLetterConfig": {"Arn": dlq_arn}, "RetryPolicy": retry_policy},
    ])
    events.put_events(Entries=[{"EventBusName": bus_name, "Source": f"dead.{unique}", "DetailType": "Probe",
                                "Detail": json.dumps({"attempt": 1})}])

    dead = receive_all(sqs, dlq_url, expected=2, timeout=10)
    by_target = {m["MessageAttributes"]["TARGET_ARN"]["StringValue"]: m for m in dead}
    assert set(by_target) == {missing_function, gone_queue}
    for target, name in ((missing_function, f"deleted-{unique}"), (gone_queue, None)):
        message = by_target[target]
        attributes = {key: value["StringValue"] for key, value in message["MessageAttributes"].items()}
        assert attributes["RULE_ARN"] == rule_arn and attributes["ERROR_CODE"] == "NO_RESOURCE"
        assert attributes["ERROR_MESSAGE"] and (name is None or name in attributes["ERROR_MESSAGE"])
        assert attributes["RETRY_ATTEMPTS"] == "0"  # a missing target is not retried
        assert json.loads(message["Body"])["detail"] == {"attempt": 1}
    sqs.delete_queue(QueueUrl=dlq_url)


def test_input_transformer_keeps_zero_false_and_null(engine, unique, bus):
    """AWS "Transforming Amazon EventBridge target input": each InputPathsMap value keeps its JSON
    type, so 0, false and null reach the target as themselves (LocalStack sent "")."""
    events, sqs = engine.client("events"), engine.client("sqs")
    bus_name, _ = bus
    url, arn = queue_for_events(sqs, f"eb-shaped-{unique}")
    events.put_rule(Name=f"shape-{unique}", EventBusName=bus_name,
                    EventPattern=json.dumps({"source": [f"stock.{unique}"]}))
    events.put_targets(Rule=f"shape-{unique}", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": arn, "InputTransformer": {
        "InputPathsMap": {"left": "$.detail.left", "open": "$.detail.open", "note": "$.detail.note"},
        "InputTemplate": '{"left": <left>, "open": <open>, "note": <note>, "line": "left=<left> open=<open>"}',
    }}])
    events.put_events(Entries=[{"EventBusName": bus_name, "Source": f"stock.{unique}", "DetailType": "Level",
                                "Detail": json.dumps({"left": 0, "open": False, "note": None})}])
    [shaped] = bodies(receive_all(sqs, url, expected=1, timeout=10))
    assert shaped == {"left": 0, "open": False, "note": None, "line": "left=0 open=false"}
    sqs.delete_queue(QueueUrl=url)


@pytest.mark.parametrize("pattern", [
    {"detail": {"amount": [{"numeric": [">=", "a"]}]}},
    {"detail": {"amount": 5}},
    {"source": []},
])
def test_put_rule_rejects_an_invalid_event_pattern(engine, unique, bus, pattern):
    """AWS answers PutRule with InvalidEventPatternException for a pattern it cannot use."""
    events = engine.client("events")
    with pytest.raises(ClientError) as refused:
        events.put_rule(Name=f"bad-{unique}", EventBusName=bus[0], EventPattern=json.dumps(pattern))
    assert refused.value.response["Error"]["Code"] == "InvalidEventPatternException"
    assert "Event pattern is not valid" in refused.value.response["Error"]["Message"]


def test_a_disabled_rule_delivers_nothing(engine, unique, bus):
    """AWS DisableRule: a disabled rule does not match events until it is enabled again."""
    events, sqs = engine.client("events"), engine.client("sqs")
    bus_name, _ = bus
    url, arn = queue_for_events(sqs, f"eb-disabled-{unique}")
    events.put_rule(Name=f"off-{unique}", EventBusName=bus_name, State="DISABLED",
                    EventPattern=json.dumps({"source": [f"off.{unique}"]}))
    events.put_targets(Rule=f"off-{unique}", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": arn}])

    def put(number):
        events.put_events(Entries=[{"EventBusName": bus_name, "Source": f"off.{unique}", "DetailType": "T",
                                    "Detail": json.dumps({"n": number})}])

    put(1)
    events.enable_rule(Name=f"off-{unique}", EventBusName=bus_name)
    put(2)
    [delivered] = bodies(receive_all(sqs, url, expected=1, timeout=10))
    assert delivered["detail"] == {"n": 2}
    assert nothing_more(sqs, url)
    sqs.delete_queue(QueueUrl=url)


ARCHIVE_TEMPLATE = {
    "Resources": {
        "OrdersArchive": {
            "Type": "AWS::Events::Archive",
            "Properties": {
                "SourceArn": {"Fn::Sub": "arn:aws:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"},
                "EventPattern": {"source": ["shop.orders"]},
                "RetentionDays": 7,
            },
        },
    },
    "Outputs": {
        "Name": {"Value": {"Ref": "OrdersArchive"}},
        "Arn": {"Value": {"Fn::GetAtt": ["OrdersArchive", "Arn"]}},
    },
}


def test_archive_deploys_updates_and_deletes_through_cloudformation(engine, unique):
    """AWS::Events::Archive: ArchiveName generated when absent, Ref = name, GetAtt Arn; an update
    changes it in place, deleting the stack deletes the archive."""
    cfn, events = engine.client("cloudformation"), engine.client("events")
    stack = f"eb-archive-{unique}"

    def settled(wanted: str) -> dict:
        return wait_for(lambda: cfn.describe_stacks(StackName=stack)["Stacks"][0], what=f"{stack} {wanted}",
                        timeout=30, until=lambda s: not s["StackStatus"].endswith("IN_PROGRESS"))

    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(ARCHIVE_TEMPLATE))
    created = settled("created")
    assert created["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in created["Outputs"]}
    archive = events.describe_archive(ArchiveName=outputs["Name"])
    assert outputs["Name"].startswith(f"{stack}-OrdersArchive") and len(outputs["Name"]) <= 48
    assert archive["ArchiveArn"] == outputs["Arn"] and archive["RetentionDays"] == 7
    assert json.loads(archive["EventPattern"]) == {"source": ["shop.orders"]}

    updated_template = json.loads(json.dumps(ARCHIVE_TEMPLATE))
    updated_template["Resources"]["OrdersArchive"]["Properties"]["RetentionDays"] = 30
    cfn.update_stack(StackName=stack, TemplateBody=json.dumps(updated_template))
    assert settled("updated")["StackStatus"] == "UPDATE_COMPLETE"
    assert events.describe_archive(ArchiveName=outputs["Name"])["RetentionDays"] == 30

    cfn.delete_stack(StackName=stack)

    def stack_status() -> str:
        try:
            return cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        except ClientError:  # AWS: a deleted stack is not found by its name
            return "DELETE_COMPLETE"

    wait_for(stack_status, what=f"{stack} deleted", timeout=30, until=lambda status: status == "DELETE_COMPLETE")
    with pytest.raises(ClientError) as gone:
        events.describe_archive(ArchiveName=outputs["Name"])
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"

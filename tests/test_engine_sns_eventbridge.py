"""Routing: SNS to SQS with a filter policy and raw delivery, SNS to Lambda, EventBridge rules."""

from __future__ import annotations

import json

from support import allow_service_to_send, bodies, create_function, create_queue, receive_all


def test_sns_filter_policy_and_raw_delivery_to_sqs(engine, unique):
    sns, sqs = engine.client("sns"), engine.client("sqs")
    topic = sns.create_topic(Name=f"orders-{unique}")["TopicArn"]
    raw_url, raw_arn = create_queue(sqs, f"sns-raw-{unique}")
    wrapped_url, wrapped_arn = create_queue(sqs, f"sns-wrapped-{unique}")
    for url, arn in ((raw_url, raw_arn), (wrapped_url, wrapped_arn)):
        allow_service_to_send(sqs, url, arn, "sns.amazonaws.com")
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=raw_arn,
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"priority": ["high"]})},
    )
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=wrapped_arn)

    def publish(message, priority):
        sns.publish(
            TopicArn=topic, Message=message,
            MessageAttributes={"priority": {"DataType": "String", "StringValue": priority}},
        )

    publish("low-1", "low")
    publish("high-1", "high")
    publish("high-2", "high")

    raw = receive_all(sqs, raw_url, expected=2)
    assert sorted(m["Body"] for m in raw) == ["high-1", "high-2"]  # raw: the body is the message
    assert all(m["MessageAttributes"]["priority"]["StringValue"] == "high" for m in raw)
    wrapped = bodies(receive_all(sqs, wrapped_url, expected=3))
    assert sorted(w["Message"] for w in wrapped) == ["high-1", "high-2", "low-1"]
    assert all(w["Type"] == "Notification" and w["TopicArn"] == topic for w in wrapped)
    assert sqs.receive_message(QueueUrl=raw_url, WaitTimeSeconds=1).get("Messages") is None


def test_sns_invokes_lambda(engine, unique):
    sns, sqs, lam = engine.client("sns"), engine.client("sqs"), engine.client("lambda")
    out_url, _ = create_queue(sqs, f"snsfn-out-{unique}")
    name = f"probe-sns-{unique}"
    arn = create_function(lam, name, "probe.py", env={"OUTPUT_QUEUE_URL": out_url})
    topic = sns.create_topic(Name=f"news-{unique}")["TopicArn"]
    lam.add_permission(FunctionName=name, StatementId="sns", Action="lambda:InvokeFunction",
                       Principal="sns.amazonaws.com", SourceArn=topic)
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    message_id = sns.publish(TopicArn=topic, Message="hello lambda")["MessageId"]
    [report] = bodies(receive_all(sqs, out_url, expected=1))
    assert report == {"source": "sns", "id": message_id, "body": "hello lambda"}


def test_eventbridge_rule_targets_sqs_and_lambda(engine, unique):
    events, sqs, lam = engine.client("events"), engine.client("sqs"), engine.client("lambda")
    out_url, _ = create_queue(sqs, f"eb-out-{unique}")
    target_url, target_arn = create_queue(sqs, f"eb-target-{unique}")
    allow_service_to_send(sqs, target_url, target_arn, "events.amazonaws.com")
    name = f"probe-eb-{unique}"
    fn_arn = create_function(lam, name, "probe.py", env={"OUTPUT_QUEUE_URL": out_url})
    rule = f"shipped-{unique}"
    rule_arn = events.put_rule(
        Name=rule, EventPattern=json.dumps({"source": [f"shop.{unique}"], "detail-type": ["OrderShipped"]})
    )["RuleArn"]
    lam.add_permission(FunctionName=name, StatementId="events", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com", SourceArn=rule_arn)
    events.put_targets(Rule=rule, Targets=[{"Id": "queue", "Arn": target_arn}, {"Id": "fn", "Arn": fn_arn}])

    events.put_events(Entries=[
        {"Source": f"shop.{unique}", "DetailType": "OrderPlaced", "Detail": json.dumps({"order": 1})},
        {"Source": f"shop.{unique}", "DetailType": "OrderShipped", "Detail": json.dumps({"order": 2})},
        {"Source": "somebody.else", "DetailType": "OrderShipped", "Detail": json.dumps({"order": 3})},
    ])
    [queued] = bodies(receive_all(sqs, target_url, expected=1))
    assert queued["detail"] == {"order": 2} and queued["detail-type"] == "OrderShipped"
    [report] = bodies(receive_all(sqs, out_url, expected=1))
    assert report["source"] == "eventbridge" and report["body"] == {"order": 2}
    assert sqs.receive_message(QueueUrl=target_url, WaitTimeSeconds=1).get("Messages") is None

"""S3 ObjectCreated notifications: filtered to SQS (then Lambda), and straight to Lambda."""

from __future__ import annotations

import json

from support import allow_service_to_send, bodies, create_function, create_queue, receive_all


def test_filtered_upload_goes_to_sqs_then_lambda_and_others_trigger_nothing(engine, unique):
    s3, sqs, lam = engine.client("s3"), engine.client("sqs"), engine.client("lambda")
    out_url, _ = create_queue(sqs, f"s3-out-{unique}")
    queue_url, queue_arn = create_queue(sqs, f"s3-uploads-{unique}", VisibilityTimeout=10)
    allow_service_to_send(sqs, queue_url, queue_arn, "s3.amazonaws.com")
    name = f"probe-s3sqs-{unique}"
    create_function(lam, name, "probe.py", env={"OUTPUT_QUEUE_URL": out_url})
    lam.create_event_source_mapping(FunctionName=name, EventSourceArn=queue_arn, BatchSize=10)
    bucket = f"uploads-{unique}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [
                        {"Name": "prefix", "Value": "incoming/"},
                        {"Name": "suffix", "Value": ".json"},
                    ]}},
                }
            ]
        },
    )
    # outside the filter first, then one inside: only the second may arrive
    s3.put_object(Bucket=bucket, Key="elsewhere/a.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="incoming/a.txt", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="incoming/order-1.json", Body=b'{"id": 1}')

    # S3 also sends one s3:TestEvent when the notification is configured, as AWS does
    reports = bodies(receive_all(sqs, out_url, expected=2))
    s3_events = [json.loads(r["body"]) for r in reports]
    assert [e.get("Event") for e in s3_events if "Records" not in e] == ["s3:TestEvent"]
    keys = [rec["s3"]["object"]["key"] for e in s3_events for rec in e.get("Records", [])]
    assert keys == ["incoming/order-1.json"]
    assert sqs.receive_message(QueueUrl=out_url, WaitTimeSeconds=1).get("Messages") is None


def test_upload_invokes_lambda_directly(engine, unique):
    s3, sqs, lam = engine.client("s3"), engine.client("sqs"), engine.client("lambda")
    out_url, _ = create_queue(sqs, f"s3direct-out-{unique}")
    name = f"probe-s3direct-{unique}"
    arn = create_function(lam, name, "probe.py", env={"OUTPUT_QUEUE_URL": out_url})
    bucket = f"direct-{unique}"
    s3.create_bucket(Bucket=bucket)
    lam.add_permission(
        FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com", SourceArn=f"arn:aws:s3:::{bucket}",
    )
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    s3.put_object(Bucket=bucket, Key="photo.png", Body=b"png")
    [report] = bodies(receive_all(sqs, out_url, expected=1))
    assert report["source"] == "s3" and report["id"] == "photo.png"
    assert report["body"].startswith("ObjectCreated:")

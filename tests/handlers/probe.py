"""A test function that does what its event asks and reports what it saw.

Direct invokes carry commands ({"echo": ...}, {"fail": ...}, {"sleep": ...}, ...); events
from SQS, S3, SNS, EventBridge and API Gateway are forwarded as JSON to the queue named in
OUTPUT_QUEUE_URL, so a test can count exactly what arrived. boto3 is used with no endpoint
setting on purpose: the engine must hand the function its endpoint, as AWS does.
"""

import functools
import json
import os
import time

import boto3

VERSION = "v1"


@functools.cache
def _client(service):
    """One client per service for the life of the process, made on first use: creating a client
    costs tens of milliseconds (more on a busy machine), too much to pay once per record."""
    return boto3.client(service)


def _forward(source, ident, body, **extra):
    _client("sqs").send_message(
        QueueUrl=os.environ["OUTPUT_QUEUE_URL"],
        MessageBody=json.dumps({"source": source, "id": ident, "body": body, **extra}),
    )


def _sqs(records):
    failures = []
    for record in records:
        receives = int(record["attributes"]["ApproximateReceiveCount"])
        if "poison" in record["body"]:
            _forward("sqs-failed", record["messageId"], record["body"], receives=receives)
            failures.append({"itemIdentifier": record["messageId"]})
        else:
            _forward("sqs", record["messageId"], record["body"], receives=receives, batch=len(records))
    return {"batchItemFailures": failures}


def _api(event):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    if event["httpMethod"] == "POST":
        item = json.loads(event["body"])
        table.put_item(Item=item)
        return {"statusCode": 201, "body": json.dumps(item)}
    item = table.get_item(Key={"id": event["pathParameters"]["id"]}).get("Item")
    if item is None:
        return {"statusCode": 404, "body": json.dumps({"error": "not found"})}
    return {"statusCode": 200, "body": json.dumps(item)}


def handler(event, context):
    if "echo" in event:
        print(f"echo {VERSION} {context.aws_request_id}")
        return {"echo": event["echo"], "version": VERSION, "function": context.function_name}
    if "fail" in event:
        raise RuntimeError(event["fail"])
    if "sleep" in event:
        time.sleep(event["sleep"])
        return {"slept": event["sleep"]}
    if "print_bytes" in event:
        print("x" * event["print_bytes"])
        return {"printed": event["print_bytes"]}
    if "log_marker" in event:
        print(f"marker {event['log_marker']}")
        return {}
    if "send_to" in event:
        _client("sqs").send_message(QueueUrl=event["send_to"], MessageBody=json.dumps(event["body"]))
        return {"sent": True}
    if "httpMethod" in event:
        return _api(event)
    if "detail-type" in event:
        _forward("eventbridge", event["id"], event["detail"], detail_type=event["detail-type"])
        return {}
    records = event.get("Records", [])
    source = records[0].get("eventSource") or records[0].get("EventSource") if records else None
    if source == "aws:sqs":
        return _sqs(records)
    for record in records:
        if source == "aws:s3":
            _forward("s3", record["s3"]["object"]["key"], record["eventName"])
        elif source == "aws:sns":
            _forward("sns", record["Sns"]["MessageId"], record["Sns"]["Message"])
    return {"records": len(records)}

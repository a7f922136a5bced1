"""Records every event it receives in DynamoDB, so the welcome tour can show what arrived.

One function stands behind every integration of the welcome stack (S3, SQS, SNS,
EventBridge, API Gateway). It is ordinary Lambda code: boto3 with no endpoint setting,
so it runs unchanged on AWS.
"""

import base64
import json
import os
import time

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def _save(source: str, key: str, body, **extra) -> None:
    TABLE.put_item(
        Item={"pk": source, "sk": key, "body": json.dumps(body, default=str), "at": int(time.time()), **extra}
    )


def _api(event):
    if event["httpMethod"] == "GET":
        items = TABLE.query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "api"}
        )["Items"]
        return {"statusCode": 200, "body": json.dumps({"items": items})}
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode("utf-8", errors="replace")
    try:
        body = json.loads(raw)
    except json.JSONDecodeError:
        return {"statusCode": 400, "body": json.dumps({"error": "the body must be JSON"})}
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        return {"statusCode": 400, "body": json.dumps({"error": "the body needs a string 'id'"})}
    _save("api", body["id"], body)
    return {"statusCode": 201, "body": json.dumps({"stored": body["id"]})}


def _sqs(records):
    failures = []
    for record in records:
        if "fail" in record["body"]:
            print(f"refusing message {record['messageId']}: it asks to fail")
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        _save("sqs", record["messageId"], record["body"])
    return {"batchItemFailures": failures}


def handler(event, context):
    print(json.dumps({"request_id": context.aws_request_id, "event_keys": sorted(event)}))
    if "httpMethod" in event:
        return _api(event)
    if "detail-type" in event:
        _save("eventbridge", event["id"], event["detail"])
        return {"ok": True}
    records = event.get("Records") or []
    source = records[0].get("eventSource") or records[0].get("EventSource") if records else None
    if source == "aws:sqs":
        return _sqs(records)
    for record in records:
        if source == "aws:s3":
            _save("s3", record["s3"]["object"]["key"], record["s3"])
        elif source == "aws:sns":
            # the message attributes too: they decide which subscriptions get the message
            attributes = {name: a.get("Value") for name, a in (record["Sns"].get("MessageAttributes") or {}).items()}
            _save("sns", record["Sns"]["MessageId"], record["Sns"]["Message"], attributes=json.dumps(attributes))
    return {"ok": True, "records": len(records)}

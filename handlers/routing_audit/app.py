"""Audits every event that reaches it, from SNS or EventBridge, in DynamoDB.

In lab 03 this function is one more consumer of the orders topic and of a shipping rule: it
shows that a Lambda subscribes to SNS and is targeted by EventBridge exactly like a queue.
"""

import json
import os
import time

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    if "detail-type" in event:  # EventBridge delivers the event itself
        entries = [("events", event["id"], event)]
    else:  # SNS delivers a batch of records, usually one
        entries = [("sns", r["Sns"]["MessageId"], r["Sns"]["Message"]) for r in event.get("Records", [])]
    for channel, ident, body in entries:
        TABLE.put_item(Item={"channel": channel, "id": ident,
                             "body": body if isinstance(body, str) else json.dumps(body), "at": int(time.time())})
    print(json.dumps({"audited": [e[1] for e in entries]}))
    return {"audited": len(entries)}

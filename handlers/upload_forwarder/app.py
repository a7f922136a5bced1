"""The other wiring of lab 02: S3 invokes this function directly, and it forwards each
S3 record to the processing queue. Useful when you want to filter or enrich before
queueing, or when one upload must fan out; the cost is one more function to run.
"""

import json
import os

import boto3

SQS = boto3.client("sqs")
QUEUE_URL = os.environ["QUEUE_URL"]


def handler(event, context):
    records = event.get("Records", [])
    for record in records:
        # the same shape S3 puts on the queue itself, so the processor needs no change
        SQS.send_message(QueueUrl=QUEUE_URL, MessageBody=json.dumps({"Records": [record]}))
    print(json.dumps({"forwarded": [r["s3"]["object"]["key"] for r in records]}))
    return {"forwarded": len(records)}

"""Benchmark function: writes every event of an SQS batch to DynamoDB in one batch write.

The last stage of the throughput pipeline (SNS -> SQS -> this -> DynamoDB). Each message body
is the raw SNS message, a JSON object with an "id"; the item's key is that id, so a message
delivered twice is counted once and the benchmark counts distinct items.
"""

import json
import os
from decimal import Decimal

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    with TABLE.batch_writer(overwrite_by_pkeys=["id"]) as batch:
        for record in event["Records"]:
            body = json.loads(record["body"])
            batch.put_item(Item={"id": body["id"], "sent_at": Decimal(str(body["sent_at"]))})
    return {"batchItemFailures": []}

"""Fulfils order events from the FIFO queue edalab-fulfilment.fifo, and logs the order in
which it saw them, per customer, so the lab can show that each customer's order held."""

import json
import os

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    for record in event["Records"]:
        order_event = json.loads(record["body"])
        TABLE.update_item(
            Key={"customer": order_event["customer"]},
            UpdateExpression="SET seqs = list_append(if_not_exists(seqs, :empty), :seq) ADD message_groups :group",
            ExpressionAttributeValues={
                ":empty": [],
                ":seq": [order_event["seq"]],
                ":group": {record["attributes"]["MessageGroupId"]},
            },
        )
    return {"batchItemFailures": []}

"""Fulfils order events from the FIFO queue edalab-fulfilment.fifo, and logs the order in
which it saw them, per customer, so the lab can show that each customer's order held.

A FIFO batch must be handled in order: when one record fails, the later records *of the same
message group* in the batch are reported as failed too (unprocessed), so nothing overtakes
it; other groups carry on. A record that cannot be parsed fails every time; after the queue's
maxReceiveCount it moves to the dead-letter queue — and so may the events that came back with
it each time (as on AWS) — and its customer's later events flow again.
"""

import json
import os

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


class BadEvent(ValueError):
    pass


def parse(record):
    try:
        order_event = json.loads(record["body"])
    except ValueError:
        raise BadEvent("the body is not JSON")
    if not isinstance(order_event, dict) or not isinstance(order_event.get("customer"), str) \
            or not isinstance(order_event.get("seq"), int):
        raise BadEvent("an order event needs a string 'customer' and an integer 'seq'")
    return order_event


def handler(event, context):
    failures, failed_groups = [], set()
    for record in event["Records"]:
        group = record["attributes"]["MessageGroupId"]
        if group in failed_groups:  # an earlier event of this customer failed: keep the order
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        try:
            order_event = parse(record)
        except BadEvent as error:
            print(json.dumps({"rejected": record["messageId"], "reason": str(error),
                              "receive_count": record["attributes"]["ApproximateReceiveCount"]}))
            failures.append({"itemIdentifier": record["messageId"]})
            failed_groups.add(group)
            continue
        TABLE.update_item(
            Key={"customer": order_event["customer"]},
            UpdateExpression="SET seqs = list_append(if_not_exists(seqs, :empty), :seq) ADD message_groups :group",
            ExpressionAttributeValues={
                ":empty": [],
                ":seq": [order_event["seq"]],
                ":group": {group},
            },
        )
    return {"batchItemFailures": failures}

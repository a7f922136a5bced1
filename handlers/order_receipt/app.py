"""Sends an order's receipt (lab 04); invoked asynchronously, so nobody waits for it.

Invoked with `--invocation-type Event`, Lambda queues the event and answers at once. If the
function fails, Lambda retries it (twice by default, with pauses); when the retries are used
up, the function's on-failure destination receives a record of the event, its error and the
attempts, so a failed receipt is kept rather than lost. "Sending" here records the address
on the order, in place of a real email service.
"""

import os
import re

import boto3
from aws_lambda_powertools import Logger

LOG = Logger()
ORDERS = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class CannotSendReceipt(Exception):
    """The event does not say where or for what the receipt goes."""


@LOG.inject_lambda_context
def handler(event, context):
    if not isinstance(event, dict) or not isinstance(event.get("order_id"), str):
        raise CannotSendReceipt("the event has no 'order_id' string")
    email = event.get("email")
    if not isinstance(email, str) or not EMAIL.match(email):
        LOG.error("receipt not sent", order_id=event["order_id"], reason=f"no valid 'email' ({email!r})")
        raise CannotSendReceipt(f"order {event['order_id']}: no valid 'email' to send the receipt to ({email!r})")
    ORDERS.update_item(
        Key={"order_id": event["order_id"]},
        UpdateExpression="SET receipt_sent_to = :email ADD receipts_sent :one",
        ExpressionAttributeValues={":email": email, ":one": 1},
    )
    LOG.info("receipt sent", order_id=event["order_id"], email=email)
    return {"sent_to": email}

"""Charges payments arriving in SQS batches, exactly once per payment.

SQS delivers at least once, and a failed batch comes back whole unless the function says
which records failed. This first version is the naive one: when any payment in the batch
fails, the whole invocation fails, and SQS delivers every record of the batch again.
"""

import json
import os

import boto3

LEDGER = boto3.resource("dynamodb").Table(os.environ["LEDGER_TABLE"])


class TransientError(Exception):
    """A failure that a retry can cure (a timeout downstream, a throttled dependency)."""


class InvalidPayment(Exception):
    """A payment no retry can cure: it is logged with the reason and, after the queue's
    maxReceiveCount receives, ends in the dead-letter queue."""


def parse_payment(body):
    """The payment in a message body, or InvalidPayment saying what is wrong with it."""
    try:
        payment = json.loads(body)
    except ValueError as error:
        raise InvalidPayment(f"the body is not JSON ({error})") from None
    if not isinstance(payment, dict) or not isinstance(payment.get("payment_id"), str) or not payment["payment_id"]:
        raise InvalidPayment("'payment_id' is missing or not a non-empty string")
    amount = payment.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0 <= amount <= 1_000_000:
        raise InvalidPayment(f"'amount' must be a number from 0 to 1000000, not {amount!r}")
    return payment


def reject(body, error, receives):
    """One JSON log line per rejected delivery: the reason a person needs to act on it."""
    print(json.dumps({"message": "payment rejected", "reason": str(error), "receive_count": receives,
                      "body": body[:200]}))


def charge(payment, request_id):
    """The side effect: one ledger entry per charge. Charging twice shows up as charges = 2."""
    LEDGER.update_item(
        Key={"payment_id": payment["payment_id"]},
        UpdateExpression="ADD charges :one SET amount = :amount, last_request = :request",
        ExpressionAttributeValues={":one": 1, ":amount": str(payment["amount"]), ":request": request_id},
    )


def handler(event, context):
    # TODO (lab 06): one failed record must not send the whole batch back.
    #   1. Process each record on its own and collect the failures as
    #      {"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}, which the event
    #      source mapping understands because it has ReportBatchItemFailures on.
    #      Powertools' BatchProcessor does this for you (see the README, step 2).
    #   2. Delivery is at least once: make charging idempotent on payment_id, e.g. with
    #      Powertools' idempotent_function and the table in IDEMPOTENCY_TABLE.
    for record in event["Records"]:
        first_attempt = record["attributes"]["ApproximateReceiveCount"] == "1"
        try:
            payment = parse_payment(record["body"])
        except InvalidPayment as error:
            reject(record["body"], error, record["attributes"]["ApproximateReceiveCount"])
            raise
        if payment.get("flaky") and first_attempt:
            raise TransientError(f"payment {payment['payment_id']}: the bank timed out, try again")
        charge(payment, context.aws_request_id)
    return {}

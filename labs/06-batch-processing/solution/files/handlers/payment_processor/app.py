"""Charges payments arriving in SQS batches, exactly once per payment.

SQS delivers at least once, and a failed batch comes back whole unless the function says
which records failed. This handler uses Powertools for AWS Lambda: its batch processor
reports only the failed records (`batchItemFailures`), and its idempotency utility records
each payment id in DynamoDB so a payment delivered again is not charged again.
On AWS, add the Powertools layer or package `aws-lambda-powertools` with the function.
"""

import json
import os

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

LEDGER = boto3.resource("dynamodb").Table(os.environ["LEDGER_TABLE"])
PERSISTENCE = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
IDEMPOTENCY = IdempotencyConfig(event_key_jmespath="payment_id", expires_after_seconds=3600)
PROCESSOR = BatchProcessor(event_type=EventType.SQS)


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


@idempotent_function(data_keyword_argument="payment", config=IDEMPOTENCY, persistence_store=PERSISTENCE)
def pay(payment, request_id):
    charge(payment, request_id)
    return {"charged": payment["payment_id"]}


def handler(event, context):
    IDEMPOTENCY.register_lambda_context(context)

    def record_handler(record):
        first_attempt = record.attributes.approximate_receive_count == "1"
        try:
            payment = parse_payment(record.body)
        except InvalidPayment as error:
            reject(record.body, error, record.attributes.approximate_receive_count)
            raise
        if payment.get("flaky") and first_attempt:
            raise TransientError(f"payment {payment['payment_id']}: the bank timed out, try again")
        return pay(payment=payment, request_id=context.aws_request_id)

    return process_partial_response(event=event, record_handler=record_handler, processor=PROCESSOR,
                                    context=context)

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
        payment = json.loads(record.body)
        first_attempt = record.attributes.approximate_receive_count == "1"
        if payment.get("flaky") and first_attempt:
            raise TransientError(f"payment {payment['payment_id']}: the bank timed out, try again")
        return pay(payment=payment, request_id=context.aws_request_id)

    return process_partial_response(event=event, record_handler=record_handler, processor=PROCESSOR,
                                    context=context)

"""feedback-store: writes each feedback from the edalab-feedback queue to the edalab-feedback table, once.

SQS delivers a message at least once, so the same feedback can arrive twice (a lost delete, a
visibility timeout that ran out during a slow write). The write is therefore conditional on
the feedback id: the first delivery stores the item, any later one finds it there, writes
nothing and logs `duplicate`. A feedback that cannot be stored fails only its own record
(partial batch responses), so SQS offers just that one again; after the queue's
maxReceiveCount (3) it moves to edalab-feedback-dlq, and the DLQ's alarm tells the support team.

Every log line carries the feedback's correlation id (Powertools Logger's `correlation_id`,
taken from the message attribute the intake set), `hop` = "store" and `event`:
`received`, then one of `stored`, `duplicate` or `failed`.
On AWS, package `aws-lambda-powertools` with the function (`make aws-plan LAB=11` does).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from botocore.exceptions import ClientError

LOG = Logger()  # service name: POWERTOOLS_SERVICE_NAME
TABLE = boto3.resource("dynamodb").Table(os.environ["FEEDBACK_TABLE"])
PROCESSOR = BatchProcessor(event_type=EventType.SQS)


def now_iso() -> str:
    """ISO-8601 UTC with milliseconds, e.g. 2026-11-24T08:01:02.345Z."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def correlation_id_of(record, feedback: dict) -> str:
    """The message attribute the intake set; the body's copy if a sender left the attribute out."""
    attribute = (record.message_attributes or {}).get("correlation_id") or {}
    return attribute.get("stringValue") or str(feedback.get("correlation_id") or "unknown")


def item_for(feedback: dict, correlation_id: str) -> dict:
    """The table item: every field of the feedback, its ids and times, and its status."""
    return {**feedback, "correlation_id": correlation_id, "status": "stored", "stored_at": now_iso()}


def save(item: dict) -> str:
    """Writes the item unless one with its feedback id is stored already.
    Returns "stored" or "duplicate"."""
    try:
        TABLE.put_item(Item=item, ConditionExpression="attribute_not_exists(feedback_id)")
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return "duplicate"
        raise
    return "stored"


def process(record) -> None:
    try:
        feedback = json.loads(record.body)
    except ValueError:
        feedback = {}
    LOG.set_correlation_id(correlation_id_of(record, feedback if isinstance(feedback, dict) else {}))
    feedback_id = feedback.get("feedback_id") if isinstance(feedback, dict) else None
    LOG.info("feedback received", event="received", feedback_id=feedback_id, queue_message_id=record.message_id,
             receive_count=int(record.attributes.approximate_receive_count),
             sent_timestamp=int(record.attributes.sent_timestamp))
    try:
        if not feedback_id:
            raise ValueError("the message is not a feedback with a feedback_id")
        outcome = save(item_for(feedback, correlation_id_of(record, feedback)))
    except Exception as error:
        LOG.error("feedback could not be stored", event="failed", feedback_id=feedback_id,
                  error=f"{type(error).__name__}: {error}")
        raise
    if outcome == "stored":
        LOG.info("feedback stored", event="stored", feedback_id=feedback_id)
    else:
        LOG.info("feedback already stored: nothing written", event="duplicate", feedback_id=feedback_id)


@LOG.inject_lambda_context(clear_state=True)
def handler(event, context):
    LOG.append_keys(hop="store")
    return process_partial_response(event=event, record_handler=process, processor=PROCESSOR, context=context)

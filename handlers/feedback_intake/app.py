"""feedback-intake: the front door of lab 11's customer-feedback pipeline (API Gateway, Lambda proxy).

`POST /feedback` validates a submission (see validation.py) and answers at once:
  - 202 {"feedback_id", "correlation_id", "status": "accepted"} after the feedback is on the
    edalab-feedback queue, where feedback-store picks it up; a rating of 1 or 2 is also
    published to the feedback-escalations topic, so the support team hears of it right away;
  - 400 {"message", "errors": [every reason], "correlation_id"} when it cannot be accepted
    (nothing is queued or published then).
`GET /feedback/{id}` reads a stored feedback back (200), or says it is not there (404).

One correlation id follows the feedback through every hop: the caller's `X-Correlation-Id`
header when it is a short printable id, else a new one. It goes back in the answer (body and
header), onto the queue message and the SNS message as the message attribute `correlation_id`,
into the stored item, and onto every log line (Powertools Logger's `correlation_id`), with
`hop` = "intake" and `event` = what happened. `make trace ID=<correlation id>` follows it.

The queue is found by its name at the first request (not passed in by the template), because
in the pristine lab it does not exist yet: building it is the exercise, and until then a valid
submission gets a 503 that says so. On AWS, package `aws-lambda-powertools` with the function
(`make aws-plan LAB=11` does) or add the Powertools layer.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

import validation

LOG = Logger()  # service name: POWERTOOLS_SERVICE_NAME
SQS = boto3.client("sqs")
SNS = boto3.client("sns")
TABLE = boto3.resource("dynamodb").Table(os.environ["FEEDBACK_TABLE"])
QUEUE_NAME = os.environ["FEEDBACK_QUEUE_NAME"]
ESCALATION_TOPIC = os.environ["ESCALATION_TOPIC_ARN"]
ESCALATE_AT_MOST = 2  # ratings of 1 and 2 reach the support team at once
_queue_url: str | None = None


class QueueMissing(Exception):
    """The feedback queue does not exist (yet)."""


def now_iso() -> str:
    """ISO-8601 UTC with milliseconds, e.g. 2026-11-24T08:01:02.345Z."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def answer(status: int, body: dict, correlation_id: str) -> dict:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "X-Correlation-Id": correlation_id},
        "body": json.dumps(body, default=_plain),
    }


def _plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def header(event: dict, name: str) -> str | None:
    """A request header, whatever its case (API Gateway passes them as the client sent them)."""
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def _is_queue_missing(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    return "NonExistentQueue" in code or "QueueDoesNotExist" in code


def send(body: str, attributes: dict) -> str:
    """Sends to the feedback queue; returns the message id. The queue's URL is looked up once
    per environment, and again should the queue have been deleted and made anew since."""
    global _queue_url
    try:
        if _queue_url is None:
            _queue_url = SQS.get_queue_url(QueueName=QUEUE_NAME)["QueueUrl"]
        return SQS.send_message(QueueUrl=_queue_url, MessageBody=body, MessageAttributes=attributes)["MessageId"]
    except ClientError as error:
        if _is_queue_missing(error):
            _queue_url = None
            raise QueueMissing(QUEUE_NAME) from None
        raise


def refuse(correlation_id: str, errors: list[str]) -> dict:
    LOG.warning("feedback refused", event="refused", errors=errors)
    message = "the feedback was not accepted: " + "; ".join(errors)
    return answer(400, {"message": message, "errors": errors, "correlation_id": correlation_id}, correlation_id)


def body_of(event: dict) -> str | bytes | None:
    body = event.get("body")
    if body is not None and event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body)
        except ValueError:
            return b"\xff"  # not base64 after all: reported as bytes that are not UTF-8
    return body


def submit(event: dict, correlation_id: str) -> dict:
    document, errors = validation.decode_body(body_of(event))
    if not errors:
        fields, errors = validation.validate(document)
    if errors:
        return refuse(correlation_id, errors)
    feedback = {"feedback_id": str(uuid.uuid4()), "correlation_id": correlation_id,
                "received_at": now_iso(), **fields}
    attributes = {"correlation_id": {"DataType": "String", "StringValue": correlation_id}}
    try:
        message_id = send(json.dumps(feedback), attributes)
    except QueueMissing:
        LOG.error("the feedback queue does not exist", event="queue_missing", queue=QUEUE_NAME)
        reason = (f"the queue {QUEUE_NAME} does not exist yet, so feedback cannot be accepted: build it in "
                  "labs/11-capstone-feedback/template.yaml (the lab 11 exercise) and `make deploy LAB=11`")
        return answer(503, {"message": reason, "correlation_id": correlation_id}, correlation_id)
    LOG.info("feedback accepted", event="accepted", feedback_id=feedback["feedback_id"],
             queue_message_id=message_id, rating=fields["rating"])
    if fields["rating"] <= ESCALATE_AT_MOST:
        try:
            escalate(feedback)
        except ClientError as error:  # the feedback is queued: answer 202, and say what was lost
            LOG.error("the escalation could not be published", event="escalation_failed",
                      feedback_id=feedback["feedback_id"], error=str(error))
    return answer(202, {"feedback_id": feedback["feedback_id"], "correlation_id": correlation_id,
                        "status": "accepted"}, correlation_id)


def escalate(feedback: dict) -> None:
    published = SNS.publish(
        TopicArn=ESCALATION_TOPIC,
        Subject=f"Feedback rated {feedback['rating']} of 5",
        Message=json.dumps(feedback),
        MessageAttributes={
            "correlation_id": {"DataType": "String", "StringValue": feedback["correlation_id"]},
            "rating": {"DataType": "Number", "StringValue": str(feedback["rating"])},
        },
    )
    LOG.info("low rating escalated to the support team", event="escalated", feedback_id=feedback["feedback_id"],
             sns_message_id=published["MessageId"])


def read_back(event: dict, correlation_id: str) -> dict:
    feedback_id = (event.get("pathParameters") or {}).get("id", "")
    item = TABLE.get_item(Key={"feedback_id": feedback_id}, ConsistentRead=True).get("Item") if feedback_id else None
    LOG.info("feedback looked up", event="looked_up", feedback_id=feedback_id, found=item is not None)
    if item is None:
        reason = (f"no stored feedback has the id {feedback_id!r}: it may still be on its way "
                  "(try again in a second), or it was refused or dead-lettered")
        return answer(404, {"message": reason, "correlation_id": correlation_id}, correlation_id)
    return answer(200, item, correlation_id)


@LOG.inject_lambda_context(clear_state=True)
def handler(event, context):
    given = header(event, "X-Correlation-Id")
    problem = validation.correlation_id_problem(given)
    correlation_id = given if given and not problem else str(uuid.uuid4())
    LOG.set_correlation_id(correlation_id)
    LOG.append_keys(hop="intake")
    method, resource = event.get("httpMethod", ""), event.get("resource", "")
    if problem:
        return refuse(correlation_id, [problem])
    if method == "POST" and resource == "/feedback":
        return submit(event, correlation_id)
    if method == "GET" and resource == "/feedback/{id}":
        return read_back(event, correlation_id)
    LOG.warning("no such route", event="refused", errors=[f"{method} {resource}"])
    reason = f"{method} {event.get('path', resource)} is not served: use POST /feedback or GET /feedback/{{id}}"
    return answer(405, {"message": reason, "correlation_id": correlation_id}, correlation_id)

"""What the Queues pages change: send a message, purge a queue, redrive a dead-letter queue.

Why this exists: the form a learner fills is checked here before anything reaches the engine
(message attributes must be JSON, the body must not be empty nor over the size limit, a FIFO
queue needs a group id), so a mistake gets a sentence saying what to fix and a 4xx, never a
stack trace. Each action returns the sentence the page shows; a refusal raises `Refused` with
the sentence and the HTTP status.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from botocore.exceptions import ClientError

from edalab.console import forms
from edalab.console.forms import Refused
from edalab.console.queue_views import QueueRow

SIZE_LIMIT = 256 * 1024  # bytes: what the console sends at most (SQS's classic limit; body and attributes together)
ATTRIBUTE_TYPES = ("String", "Number", "Binary")


@dataclass
class Message:
    body: str
    attributes: dict[str, dict]
    group_id: str | None = None
    dedup_id: str | None = None


FORM_LIMIT = 4 * SIZE_LIMIT  # bytes of form read at most (url-encoding can triple a body)


async def read_form(request) -> dict[str, str]:
    """The posted send/purge/redrive form; a form far over the limit is refused unread."""
    return await forms.read_form(request, FORM_LIMIT)


def message_attributes(text: str) -> dict[str, dict]:
    """The form's attributes field as SQS MessageAttributes. Accepts the API's own shape
    (`{"k": {"DataType": "String", "StringValue": "v"}}`) or plain values (`{"k": "v", "n": 3}`)."""
    if not text.strip():
        return {}
    try:
        given = json.loads(text)
    except ValueError as error:
        raise Refused(f"The message attributes are not JSON ({error}). Write an object such as "
                      '{"source": "console", "priority": 3}, or leave the field empty.') from None
    if not isinstance(given, dict):
        raise Refused('The message attributes must be a JSON object, such as {"source": "console"}.')
    if len(given) > 10:
        raise Refused(f"SQS takes at most 10 message attributes; there are {len(given)}.")
    shaped = {}
    for name, value in given.items():
        if isinstance(value, dict):
            kind = str(value.get("DataType", ""))
            if kind.split(".")[0] not in ATTRIBUTE_TYPES or not ({"StringValue", "BinaryValue"} & value.keys()):
                raise Refused(f"Attribute {name!r}: give a DataType (String, Number or Binary) and a StringValue "
                              "(or a BinaryValue in base64), or just a value.")
            if "BinaryValue" in value:
                try:
                    shaped[name] = {"DataType": kind, "BinaryValue": base64.b64decode(str(value["BinaryValue"]),
                                                                                        validate=True)}
                except ValueError:
                    raise Refused(f"Attribute {name!r}: BinaryValue must be base64.") from None
            else:
                shaped[name] = {"DataType": kind, "StringValue": str(value["StringValue"])}
        elif isinstance(value, bool) or value is None or isinstance(value, (list,)):
            raise Refused(f"Attribute {name!r}: a value must be a string or a number (SQS has no "
                          f"{type(value).__name__} attributes).")
        elif isinstance(value, (int, float)):
            shaped[name] = {"DataType": "Number", "StringValue": json.dumps(value)}
        else:
            shaped[name] = {"DataType": "String", "StringValue": str(value)}
        if shaped[name].get("StringValue") == "":
            raise Refused(f"Attribute {name!r} is empty; SQS refuses empty attribute values.")
    return shaped


def message_size(message: Message) -> int:
    """Bytes SQS counts: the body, and each attribute's name, type and value."""
    size = len(message.body.encode())
    for name, value in message.attributes.items():
        data = value.get("BinaryValue") or value.get("StringValue", "").encode()
        size += len(name.encode()) + len(value["DataType"].encode()) + len(data)
    return size


def message_from_form(form, queue: QueueRow, fifo_deduplicates_content: bool, limit: int = SIZE_LIMIT) -> Message:
    """Checks the send form and returns the message to send, or raises Refused saying what to fix."""
    body = str(form.get("body") or "")
    if not body.strip():
        raise Refused("The body is empty. SQS needs at least one character: write the message to send.")
    message = Message(body, message_attributes(str(form.get("attributes") or "")))
    size = message_size(message)
    if size > limit:
        raise Refused(f"The message is {size:,} bytes ({size / 1024:,.1f} KiB): the limit is {limit:,} bytes "
                      f"({limit // 1024} KiB), body and attributes together. Store big payloads in S3 and send "
                      "their key instead.", status=413)
    group_id = str(form.get("group_id") or "").strip()
    dedup_id = str(form.get("dedup_id") or "").strip()
    if queue.fifo:
        if not group_id:
            raise Refused(f"{queue.name} is a FIFO queue: give a message group id (messages of one group are "
                          "delivered in order).")
        if not dedup_id and not fifo_deduplicates_content:
            raise Refused(f"{queue.name} has no content-based deduplication: give a deduplication id (a second "
                          "message with the same id within 5 minutes is dropped).")
        message.group_id, message.dedup_id = group_id, dedup_id or None
    elif group_id or dedup_id:
        message.group_id = group_id or None  # a standard queue accepts a group id (fair queues) but no dedup id
        if dedup_id:
            raise Refused(f"{queue.name} is a standard queue: a deduplication id only applies to FIFO queues.")
    return message


def _said(error: ClientError) -> str:
    details = error.response.get("Error", {})
    return f"{details.get('Code', 'Error')}: {details.get('Message', str(error))}"


def send(view, queue: QueueRow, message: Message) -> str:
    arguments = {"QueueUrl": queue.url, "MessageBody": message.body}
    if message.attributes:
        arguments["MessageAttributes"] = message.attributes
    if message.group_id:
        arguments["MessageGroupId"] = message.group_id
    if message.dedup_id:
        arguments["MessageDeduplicationId"] = message.dedup_id
    try:
        sent = view.client("sqs").send_message(**arguments)
    except ClientError as error:
        raise Refused(f"SQS refused the message: {_said(error)}") from None
    return f"Sent message {sent['MessageId']} to {queue.name}."


def purge(view, queue: QueueRow) -> str:
    try:
        view.client("sqs").purge_queue(QueueUrl=queue.url)
    except ClientError as error:
        raise Refused(f"SQS did not purge {queue.name}: {_said(error)}", status=409) from None
    return f"Purged {queue.name}: every message is deleted (visible, in flight and delayed)."


def redrive(view, queue: QueueRow) -> str:
    """Starts moving every message of this DLQ back to the queue each came from."""
    if not queue.is_dead_letter_queue:
        raise Refused(f"{queue.name} is not a dead-letter queue (no queue's redrive policy points at it): "
                      "there is nowhere to redrive to.", status=409)
    try:
        task = view.client("sqs").start_message_move_task(SourceArn=queue.arn)
    except ClientError as error:
        raise Refused(f"SQS did not start the redrive: {_said(error)}", status=409) from None
    back_to = ", ".join(queue.dead_letter_of)
    return f"Redrive started (task {task['TaskHandle'][:12]}…): messages go back to the queue they came from ({back_to})."

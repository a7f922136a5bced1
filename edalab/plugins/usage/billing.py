"""AWS's billing rules as pure functions: payload chunks, S3 request tiers, DynamoDB units.

Why this exists: a count is only worth pricing if it is counted the way AWS bills it. Each
rule below names the AWS page it comes from. The functions take the already parsed request or
response (LocalStack parses every call before our hook sees it), never a raw body.
"""

from __future__ import annotations

import base64
import math

# Amazon SQS pricing (aws.amazon.com/sqs/pricing, "Request pricing"): "Each 64 KB chunk of a
# payload is billed as 1 request (for example, an API action with a 256 KB payload is billed
# as 4 requests)". The same 64 KB chunk rule is on Amazon SNS pricing (aws.amazon.com/sns/
# pricing: "each 64KB chunk of published data is billed as 1 request") and Amazon EventBridge
# pricing (aws.amazon.com/eventbridge/pricing: "64 KB chunk of a payload is billed as 1 event").
CHUNK_BYTES = 64 * 1024


def chunks(payload_bytes: int) -> int:
    """Billable requests for one payload: a started 64 KB chunk counts whole, at least one."""
    return max(1, -(-payload_bytes // CHUNK_BYTES))


def utf8_length(text: str | bytes | None) -> int:
    if not text:
        return 0
    if isinstance(text, bytes):
        return len(text)
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def attributes_size(attributes: dict | None) -> int:
    """SQS/SNS message attributes count toward the message's size (Amazon SQS developer
    guide, "Amazon SQS message attributes": name, type and value, each in bytes)."""
    if not attributes:
        return 0
    size = 0
    for name, value in attributes.items():
        size += utf8_length(name) + utf8_length(value.get("DataType"))
        size += utf8_length(value.get("StringValue")) + utf8_length(value.get("BinaryValue"))
    return size


def sqs_message_size(message: dict, body_key: str = "MessageBody") -> int:
    """A sent (`MessageBody`) or received (`Body`) message's body plus its attributes."""
    return utf8_length(message.get(body_key)) + attributes_size(message.get("MessageAttributes"))


def sqs_billable(operation: str, request: dict, response: dict | None) -> tuple[int, bool]:
    """(billable requests, empty receive) for one SQS call. A batch action is one request for
    its whole payload ("the total payload of a batch ... billed per 64 KB chunk": SQS pricing);
    a receive carries the messages it returns; other actions carry no payload."""
    if operation == "SendMessage":
        return chunks(sqs_message_size(request)), False
    if operation == "SendMessageBatch":
        return chunks(sum(sqs_message_size(entry) for entry in request.get("Entries") or ())), False
    if operation == "ReceiveMessage":
        messages = (response or {}).get("Messages") or ()
        return chunks(sum(sqs_message_size(m, "Body") for m in messages)), not messages
    return 1, False


def sns_message_size(message: dict) -> int:
    """A published message's payload: subject, message and attributes (SNS pricing's
    "published data"; attributes count toward SNS's message size limit)."""
    return (utf8_length(message.get("Subject")) + utf8_length(message.get("Message"))
            + attributes_size(message.get("MessageAttributes")))


def sns_publish(operation: str, request: dict) -> tuple[int, int]:
    """(messages published, billable requests) for Publish / PublishBatch: a batch is one
    request per 64 KB chunk of its aggregate payload (SNS pricing, "Publish and PublishBatch")."""
    if operation == "Publish":
        return 1, chunks(sns_message_size(request))
    entries = request.get("PublishBatchRequestEntries") or ()
    return len(entries), chunks(sum(sns_message_size(entry) for entry in entries))


def event_entry_size(entry: dict) -> int:
    """EventBridge's "Calculating PutEvents event entry size": Time is 14 bytes when given;
    Source, DetailType, Detail and each Resources entry count their UTF-8 bytes."""
    size = 14 if entry.get("Time") is not None else 0
    size += utf8_length(entry.get("Source")) + utf8_length(entry.get("DetailType"))
    size += utf8_length(entry.get("Detail"))
    return size + sum(utf8_length(resource) for resource in entry.get("Resources") or ())


def events_billable(entries: list[dict]) -> int:
    """EventBridge bills custom events per entry, each 64 KB chunk of an entry as one event."""
    return sum(chunks(event_entry_size(entry)) for entry in entries)


# Amazon S3 pricing ("Requests & data retrievals"): PUT, COPY, POST and LIST requests are one
# price (tier 1), GET, SELECT and all other requests another (tier 2); "DELETE and CANCEL
# requests are free".
FREE_S3_PREFIXES = ("Delete", "Abort")


def s3_tier(operation: str, method: str) -> int:
    """1 or 2 for the request's S3 price tier, 0 for a free one."""
    if operation.startswith(FREE_S3_PREFIXES):
        return 0
    if method in ("PUT", "POST") or operation.startswith("List"):
        return 1
    return 2


# DynamoDB developer guide, "DynamoDB item sizes and formats": an item's size is the sum of
# its attribute names and values; strings and binaries count their bytes, a number about one
# byte per two significant digits plus one, null and Boolean one byte, a List or Map 3 bytes
# plus its elements plus one byte per element.
def _number_size(text: str) -> int:
    digits = text.lstrip("+-").lower().split("e")[0].replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1


def _binary_size(value) -> int:
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    return len(base64.b64decode(value)) if value else 0  # a stored item's binary as base64 text


def attribute_value_size(value: dict) -> int:
    ((kind, content),) = value.items()
    if kind == "S":
        return utf8_length(content)
    if kind == "N":
        return _number_size(str(content))
    if kind == "B":
        return _binary_size(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(utf8_length(text) for text in content)
    if kind == "NS":
        return sum(_number_size(str(number)) for number in content)
    if kind == "BS":
        return sum(_binary_size(blob) for blob in content)
    if kind == "L":
        return 3 + sum(1 + attribute_value_size(element) for element in content)
    if kind == "M":
        return 3 + sum(1 + utf8_length(name) + attribute_value_size(element) for name, element in content.items())
    return 0


def item_size(item: dict | None) -> int:
    if not item:
        return 0
    return sum(utf8_length(name) + attribute_value_size(value) for name, value in item.items())


# DynamoDB developer guide, "DynamoDB read and write request units" (on-demand): a write
# request unit per 1 KB of item size, rounded up; a strongly consistent read unit per 4 KB,
# rounded up, half of that for an eventually consistent read; transactional reads and writes
# take two units per 4 KB / 1 KB. A write's size is the larger of the item before and after.
WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096


def write_units(size_bytes: int, transactional: bool = False) -> float:
    units = max(1, math.ceil(size_bytes / WRITE_UNIT_BYTES))
    return float(units * 2 if transactional else units)


def read_units(size_bytes: int, consistent: bool, transactional: bool = False) -> float:
    units = max(1, math.ceil(size_bytes / READ_UNIT_BYTES))
    if transactional:
        return float(units * 2)
    return float(units) if consistent else units / 2


# AWS Lambda pricing: "Duration is calculated from the time your code begins executing until
# it returns or otherwise terminates, rounded up to the nearest 1 ms"; GB-seconds are the
# configured memory in GB times the billed seconds.
def billed_ms(duration_ms: float | None) -> int:
    return math.ceil(duration_ms) if duration_ms else 0


def gb_seconds(memory_mb: int, billed: int) -> float:
    return memory_mb / 1024 * billed / 1000

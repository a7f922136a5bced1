"""Every message on an SQS queue, visible or in flight, read without receiving any.

Why this exists: a check that receives messages to look at them hides them for the visibility
timeout, from the learner and from the function that should process them; and a learner's own
`receive-message` hides them from the check. LocalStack's developer endpoint
`GET /_aws/sqs/messages?QueueUrl=…&ShowInvisible=true` lists them all and changes nothing (no
receive count, no visibility), in both engine modes. Checks use it through
`ctx.queue_messages(url)`; the console will show queues with it.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field

from edalab.http_call import http


class PeekFailed(RuntimeError):
    """The engine did not list the queue's messages."""


@dataclass
class QueueMessage:
    message_id: str
    body: str
    receives: int  # ApproximateReceiveCount: how many times a consumer has received it
    attributes: dict[str, str]
    message_attributes: dict[str, dict] = field(default_factory=dict)  # name -> {DataType, StringValue | BinaryValue}


def queue_messages(endpoint: str, queue_url: str) -> list[QueueMessage]:
    query = urllib.parse.urlencode({"QueueUrl": queue_url, "ShowInvisible": "true"})
    try:
        reply = http("GET", f"{endpoint}/_aws/sqs/messages?{query}", headers={"Accept": "application/json"})
    except OSError as error:
        raise PeekFailed(f"the engine did not list the messages of {queue_url} ({error}): is it running?") from None
    if reply.status != 200 or not isinstance(reply.body, dict):
        raise PeekFailed(f"the engine answered {reply.status} when asked for the messages of {queue_url}: "
                         f"{reply.text[:200]}")
    return messages_from(reply.body)


def messages_from(reply: dict) -> list[QueueMessage]:
    """The messages in the endpoint's JSON answer (the console fetches it through its own view)."""
    result = (reply.get("ReceiveMessageResponse") or {}).get("ReceiveMessageResult") or {}
    found = []
    for message in _as_list(result.get("Message")):
        attributes = {a["Name"]: str(a["Value"]) for a in _as_list(message.get("Attribute"))}
        message_attributes = {a["Name"]: a.get("Value") or {} for a in _as_list(message.get("MessageAttribute"))}
        found.append(QueueMessage(message.get("MessageId", ""), message.get("Body", ""),
                                  int(attributes.get("ApproximateReceiveCount", 0)), attributes, message_attributes))
    return found


def _as_list(value) -> list:
    """The endpoint's XML-shaped JSON gives one element as an object, several as a list."""
    return value if isinstance(value, list) else [value] if value else []

"""SMS messages SNS sent, read back from the engine.

Why this exists: an alarm's topic can have an SMS subscription (lab 11's `support-alerts`
texts a phone number). Nothing leaves the machine: LocalStack keeps every SMS it "sends" at
its developer endpoint `GET /_aws/sns/sms-messages`, grouped by phone number, with the text
and topic but no sending time. `make mail` and the console's Mail page both show them; this
module is the one place that reads and shapes that record (the console adds when it first
saw each message, since the engine keeps no time).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from edalab import settings
from edalab.http_call import http

SMS_ENDPOINT = "/_aws/sns/sms-messages"


@dataclass
class Sms:
    phone_number: str
    message: str
    seen: float = 0.0  # seconds since the epoch when a reader first saw it; 0 = unknown (the engine keeps no time)
    topic_arn: str = ""
    subject: str = ""
    message_id: str = ""

    @property
    def topic_name(self) -> str:
        return self.topic_arn.rsplit(":", 1)[-1] if self.topic_arn else ""


def from_record(answer: dict | None) -> list[Sms]:
    """The messages in the endpoint's answer, in the order the engine kept them (oldest first
    for each phone number). A message without an id gets `<phone>#<position>`."""
    found = []
    for phone, sent in ((answer or {}).get("sms_messages") or {}).items():
        for position, message in enumerate(sent or []):
            found.append(Sms(phone_number=phone or "", message=str(message.get("Message", "")),
                             topic_arn=message.get("TopicArn") or "", subject=message.get("Subject") or "",
                             message_id=message.get("MessageId") or f"{phone}#{position}"))
    return found


def url(endpoint: str, phone_number: str | None = None) -> str:
    """The developer endpoint for this project's region (the engine keeps SMS per region)."""
    query = {"region": settings.REGION, **({"phoneNumber": phone_number} if phone_number else {})}
    return f"{endpoint.rstrip('/')}{SMS_ENDPOINT}?{urllib.parse.urlencode(query)}"


def read(endpoint: str) -> list[Sms]:
    """Every SMS the engine sent. Raises OSError when the engine does not answer, or answers
    with something that is not its SMS record."""
    reply = http("GET", url(endpoint), timeout=10)
    if reply.status != 200 or not isinstance(reply.body, dict):
        raise OSError(f"GET {SMS_ENDPOINT} answered {reply.status}: {reply.text[:200]}")
    return from_record(reply.body)


def delete(endpoint: str, phone_number: str) -> None:
    """Forgets every SMS sent to this number (a test's or a check's cleanup)."""
    http("DELETE", url(endpoint, phone_number), timeout=10)

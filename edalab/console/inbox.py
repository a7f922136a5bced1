"""What the Mail page shows: the local inbox, newest first, and the SMS messages SNS sent.

Why this exists: an alarm's email and an SMS are how a learner sees a notification arrive.
The inbox is the one `make mail` reads (`edalab.mail`: the host engine's Maildir, or in
container mode LocalStack's record of sent email, `/_aws/ses`); this module only orders it,
finds one email by its key, and splits a body into its JSON (alarm notifications are JSON)
and any text around it. SMS messages come from LocalStack's developer endpoint
`/_aws/sns/sms-messages`, which keeps phone number and text but no time: the console notes
when it first saw each one.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from edalab import mail, sms
from edalab.sms import SMS_ENDPOINT, Sms  # noqa: F401  (the reader moved to edalab.sms; names kept)

KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:,=+-]{1,200}$")  # Maildir keys and SES record ids

_first_seen: dict[str, float] = {}  # SMS MessageId -> when this console first saw it


@dataclass
class Body:
    """An email body: its JSON document (None when it holds none) and the text around it."""
    document: Any
    before: str
    after: str
    text: str


def inbox(view) -> list[mail.Mail]:
    """Every email, newest first (shared by every open tab for a second)."""
    return view.cached(("mail", "inbox"), lambda: sorted(mail.read_inbox(view.endpoint),
                                                         key=lambda m: m.received, reverse=True))


def where() -> str:
    """Where the inbox is kept, in a learner's words."""
    if mail.has_smtp_inbox():
        return f"the Maildir {mail.inbox_dir()} (the same `make mail` reads; any mail client opens it)"
    return "LocalStack's record of sent email (GET /_aws/ses): this engine has no mail relay"


def find(view, key: str) -> mail.Mail | None:
    return next((m for m in inbox(view) if m.key == key), None)


def split_body(text: str) -> Body:
    """The JSON document in an email body, if any (an alarm notification is one JSON object,
    maybe followed by an unsubscribe footer); an `email-json` envelope's Message is parsed too."""
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        return Body(None, "", "", text)
    try:
        document, end = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return Body(None, "", "", text)
    if isinstance(document, dict) and isinstance(document.get("Message"), str):
        try:
            document = {**document, "Message": json.loads(document["Message"])}
        except ValueError:
            pass
    return Body(document, text[:start].strip(), text[end:].strip(), text)


def summary(found: mail.Mail, width: int = 120) -> str:
    """One line for the list: an alarm's name and new state, else the body's first words."""
    document = split_body(found.body).document
    if isinstance(document, dict) and isinstance(document.get("Message"), dict):
        document = document["Message"]
    if isinstance(document, dict) and document.get("AlarmName"):
        return f"alarm {document['AlarmName']}: {document.get('NewStateValue', '?')} — {document.get('NewStateReason', '')}"[:width]
    flat = " ".join(found.body.split())
    return flat if len(flat) <= width else flat[:width] + " …"


def sms_messages(view) -> list[Sms]:
    """Every SMS SNS sent (to a phone number or a topic's sms subscription), newest first."""
    def read() -> list[Sms]:
        found, now = sms.from_record(view.developer(SMS_ENDPOINT)), time.time()
        for order, message in enumerate(found):  # the console notes when it first saw each one
            message.seen = _first_seen.setdefault(message.message_id, now + order * 1e-6)  # keeps their order
        return sorted(found, key=lambda message: message.seen, reverse=True)
    return view.cached(("mail", "sms"), read)


def clock(epoch: float) -> str:
    """`2026-11-24 01:58:03`: an epoch time as the learner's local clock reads it."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else "—"

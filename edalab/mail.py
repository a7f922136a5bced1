"""The local inbox: email the engine sent (SNS email subscriptions, SES), read back.

Why this exists: lab alarms notify an SNS topic with an email subscription, and the learner
should be able to open that email. With the host engine, our mail relay (plugins/ses/mail_relay.py)
delivers every email over SMTP into a Maildir under the state folder (`.edalab/mail/`), which
any mail client can open (`mutt -f .edalab/mail`) and which `make mail` lists. A container
engine has no relay, so there the inbox falls back to LocalStack's own record of sent email
(`GET /_aws/ses`), and says so.

A check that makes an alarm fire removes the emails it caused, and only those: `delete` takes
the very emails it is given (from the Maildir, and from LocalStack's record).
"""

from __future__ import annotations

import email.policy
import mailbox
import os
import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from edalab import settings
from edalab.checks import http


@dataclass
class Mail:
    to: str
    sender: str
    subject: str
    body: str
    received: float  # seconds since the epoch
    source: str  # "maildir" (delivered over SMTP) or "ses-record" (LocalStack's memory)
    key: str = ""  # where it is kept: its Maildir key, or its SES record id
    ses_id: str = ""  # the id of LocalStack's SES record of it, when known


def inbox_dir() -> Path:
    return Path(os.environ.get("EDALAB_MAIL_DIR") or settings.state_dir() / "mail")


def has_smtp_inbox(folder: Path | None = None) -> bool:
    return ((folder or inbox_dir()) / "smtp-address").is_file()


def read_inbox(endpoint: str | None = None) -> list[Mail]:
    """Every email in the inbox, oldest first, including one SES recorded a moment ago that the
    relay is still filing (see `_delivered`)."""
    folder = inbox_dir()
    endpoint = endpoint or settings.endpoint()
    mails = _delivered(folder, endpoint) if has_smtp_inbox(folder) else _from_ses_record(endpoint)
    return sorted(mails, key=lambda m: m.received)


RECENT = 10.0  # seconds: an SES record this young without its Maildir copy is still on its way
RELAY_WAIT = 3.0  # seconds: the longest a read waits for it (a failed delivery is logged, never filed)


def _delivered(folder: Path, endpoint: str) -> list[Mail]:
    """The Maildir, once the relay has filed every email SES recorded in the last few seconds.

    SES keeps its record of an email just before the relay hands it to the SMTP sink, so a read
    in between would miss it, and a check cleaning up the emails it caused would leave that one
    behind. The wait is bounded: an email whose delivery failed never arrives."""
    deadline = time.monotonic() + RELAY_WAIT
    while True:
        mails = _from_maildir(folder)
        filed = {m.ses_id for m in mails}
        try:
            records = _ses_records(endpoint)
        except OSError:  # no engine answers: the Maildir is all there is
            return mails
        now = datetime.now(timezone.utc)
        on_the_way = [r for r in records  # a raw email keeps its own Message-ID, so it cannot be matched
                      if r.get("Id") not in filed and not r.get("RawData") and _age(r, now) < RECENT]
        if not on_the_way or time.monotonic() >= deadline:
            return mails
        time.sleep(0.05)


def _age(record: dict, now: datetime) -> float:
    """Seconds since SES recorded the email (its Timestamp is UTC without a zone); unknown = old."""
    try:
        stamp = datetime.fromisoformat(record.get("Timestamp") or "").replace(tzinfo=timezone.utc)
    except ValueError:
        return float("inf")
    return (now - stamp).total_seconds()


def _from_maildir(folder: Path) -> list[Mail]:
    if not (folder / "cur").is_dir():
        return []
    box = mailbox.Maildir(folder, factory=None, create=False)
    found = []
    for key in box.keys():
        raw = box.get_bytes(key)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        part = message.get_body(preferencelist=("plain", "html"))
        found.append(Mail(
            to=str(message.get("To", "")), sender=str(message.get("From", "")),
            subject=str(message.get("Subject", "")), body=part.get_content() if part else "",
            received=box.get_message(key).get_date(), source="maildir",
            key=key, ses_id=_ses_id(str(message.get("Message-ID", ""))),
        ))
    return found


def _ses_records(endpoint: str) -> list[dict]:
    """LocalStack's record of every email SES sent (empty until SES has sent one)."""
    reply = http("GET", f"{endpoint.rstrip('/')}/_aws/ses")
    if reply.status != 200 or not isinstance(reply.body, dict):
        return []
    return reply.body.get("messages", [])


def _from_ses_record(endpoint: str) -> list[Mail]:
    found = []
    for sent in _ses_records(endpoint):
        stamp = sent.get("Timestamp") or ""
        try:
            received = datetime.fromisoformat(stamp).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            received = 0.0
        found.append(Mail(
            to=", ".join(sent.get("Destination", {}).get("ToAddresses", [])), sender=sent.get("Source", ""),
            subject=sent.get("Subject", ""), body=(sent.get("Body") or {}).get("text_part") or sent.get("RawData", ""),
            received=received, source="ses-record", key=sent.get("Id", ""), ses_id=sent.get("Id", ""),
        ))
    return found


def _ses_id(message_id: str) -> str:
    """The SES record id the relay put in the Message-ID (`<time.pid.random.ID@edalab.local>`)."""
    local = message_id.strip("<> ").rsplit("@", 1)[0]
    parts = local.split(".", 3)
    return parts[3] if len(parts) == 4 else ""


def delete(mails: list[Mail], endpoint: str | None = None) -> None:
    """Removes these emails from the inbox (the Maildir) and from LocalStack's record of sent
    email, leaving every other email where it is."""
    endpoint = (endpoint or settings.endpoint()).rstrip("/")
    folder = inbox_dir()
    box = mailbox.Maildir(folder, factory=None, create=False) if (folder / "cur").is_dir() else None
    for found in mails:
        if found.source == "maildir" and box is not None:
            try:
                box.remove(found.key)
            except KeyError:
                pass  # already gone
    recorded = {sent.get("Id", "") for sent in _ses_records(endpoint)}
    for ses_id in {m.ses_id for m in mails} & recorded:  # deleting an unknown id fails there
        http("DELETE", f"{endpoint}/_aws/ses?id={urllib.parse.quote(ses_id)}")

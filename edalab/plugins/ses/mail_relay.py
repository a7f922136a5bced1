"""Email that leaves the engine: SNS email notifications delivered over SMTP to a local inbox.

Why this exists: LocalStack community turns an SNS `email` notification into an SES SendEmail
call and only keeps the result in memory (`GET /_aws/ses`); nothing goes out over SMTP. The
labs promise an alert the learner can open like any other email, so this hook, run as the
engine starts, does two things:
  - starts an SMTP server (aiosmtpd) on loopback that files every message it receives into a
    Maildir under the state folder (`.edalab/mail/`), unless EDALAB_SMTP_HOST names another
    SMTP server (e.g. a Mailpit of your own), which then gets the mail instead;
  - wraps SES's record keeping so that every email SES "sends" is also delivered over real SMTP
    to that server. SES keeps its own record too, so `/_aws/ses` still works.
The sink's address is written to `<state>/mail/smtp-address` so tools can say where it listens.
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
import os
import re
import smtplib
import socket
import types
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from localstack.runtime import hooks

from edalab.plugins.on_import import when_imported

LOG = logging.getLogger(__name__)
_sink = None  # the running aiosmtpd controller, when we started one


def mail_dir(state: Path) -> Path:
    return state / "mail"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_sink(folder: Path) -> tuple[str, int]:
    """Starts an SMTP server on loopback that writes each message into the Maildir `folder`."""
    global _sink
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Mailbox

    for part in ("tmp", "new", "cur"):  # a Maildir; mailbox only makes these for a new folder
        (folder / part).mkdir(parents=True, exist_ok=True)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection
    port = _free_port()
    _sink = Controller(Mailbox(str(folder)), hostname="127.0.0.1", port=port, loop=_loop_that_greets_at_once())
    _sink.start()
    (folder / "smtp-address").write_text(f"127.0.0.1:{port}\n")
    return "127.0.0.1", port


def _loop_that_greets_at_once() -> asyncio.AbstractEventLoop:
    """An event loop whose server answers a new connection at once. LocalStack patches asyncio's
    accept for its own use (localstack/http/duplex_socket.py): before handing a connection over it
    reads the client's first 5 bytes, to tell TLS from plain text, and gives up after 1 s. An SMTP
    client says nothing until the server has greeted it, so with the patch every SMTP connection
    waited that second: the engine's start (the controller connects once to check its server) and
    every email. This loop accepts as asyncio does unpatched; the sink never speaks TLS."""
    from asyncio.selector_events import BaseSelectorEventLoop

    loop = asyncio.new_event_loop()
    accept = BaseSelectorEventLoop._accept_connection2
    loop._accept_connection2 = types.MethodType(getattr(accept, "__wrapped__", accept), loop)
    return loop


def as_email_message(sent: dict) -> bytes:
    """An SES record (what SendEmail / SendRawEmail saved) as the bytes of an RFC 5322 message."""
    if sent.get("RawData"):
        raw = sent["RawData"].encode() if isinstance(sent["RawData"], str) else sent["RawData"]
        return re.sub(rb"\r?\n", b"\r\n", raw)  # SMTP lines end in CRLF; smtplib leaves bytes as they are
    message = EmailMessage()
    message["From"] = sent.get("Source") or "no-reply@edalab.local"
    message["To"] = ", ".join(sent.get("Destination", {}).get("ToAddresses", []))
    if cc := sent.get("Destination", {}).get("CcAddresses"):
        message["Cc"] = ", ".join(cc)
    message["Subject"] = sent.get("Subject") or "(no subject)"
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(idstring=str(sent.get("Id", "")), domain="edalab.local")
    body = sent.get("Body") or {}
    message.set_content(body.get("text_part") or "")
    if body.get("html_part"):
        message.add_alternative(body["html_part"], subtype="html")
    return message.as_bytes(policy=email.policy.SMTP)  # CRLF line ends, as SMTP wants


def _recipients(sent: dict) -> list[str]:
    destination = sent.get("Destination") or {}
    found = [*destination.get("ToAddresses", []), *destination.get("CcAddresses", []),
             *destination.get("BccAddresses", [])]
    return found or ["inbox@edalab.local"]  # raw emails carry their recipients in the message


def _deliver(host: str, port: int, sent: dict) -> None:
    try:
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            smtp.sendmail(sent.get("Source") or "no-reply@edalab.local", _recipients(sent), as_email_message(sent))
    except (OSError, smtplib.SMTPException) as error:
        # the email is still kept by SES (GET /_aws/ses); say why the inbox did not get it
        LOG.warning("edalab: could not deliver email %s to SMTP %s:%s: %s", sent.get("Id"), host, port, error)


def _wire_ses(host: str, port: int) -> None:
    """Once SES's code is imported (not at start: on_import.py), each email it saves is delivered too."""
    when_imported("localstack.services.ses.provider", lambda provider: _deliver_what_ses_saves(provider, host, port))


def _deliver_what_ses_saves(provider, host: str, port: int) -> None:
    keep_record = provider.save_for_retrospection

    def save_and_deliver(sent_email):
        keep_record(sent_email)
        _deliver(host, port, sent_email)

    provider.save_for_retrospection = save_and_deliver


@hooks.on_infra_start()
def start_mail_relay():
    state = os.environ.get("EDALAB_STATE_DIR")
    if not state or os.environ.get("EDALAB_MAIL", "1") == "0":
        return
    if configured := os.environ.get("EDALAB_SMTP_HOST"):
        host, _, port = configured.partition(":")
        address = (host, int(port or 25))
    else:
        address = _start_sink(mail_dir(Path(state)))
    _wire_ses(*address)
    LOG.info("edalab: SES email is delivered over SMTP to %s:%s", *address)


@hooks.on_infra_shutdown()
def stop_mail_relay():
    if _sink is not None:
        _sink.stop()

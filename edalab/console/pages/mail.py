"""Mail: the local inbox (alarm emails sent through SNS), and the SMS messages SNS sent.

Why this exists: a notification is the end of many event flows (lab 04's alarm emails ops).
The learner watches it arrive here, newest first, and opens it with its JSON pretty-printed.
Reading and shaping the inbox is `edalab.console.inbox`; this module only answers requests.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from edalab.console import inbox
from edalab.console.templating import page

NAV = ("Mail", "/mail")


def mail_list(request: Request):
    view = request.app.state.view
    found = inbox.inbox(view)
    return page(request, "mail.html", "mail_live.html", tab="inbox", mails=found, where=inbox.where(),
                summary=inbox.summary, clock=inbox.clock, sms_count=len(inbox.sms_messages(view)))


def sms_list(request: Request):
    view = request.app.state.view
    messages = inbox.sms_messages(view)
    return page(request, "mail.html", "mail_sms_live.html", tab="sms", messages=messages, clock=inbox.clock,
                mail_count=len(inbox.inbox(view)))


def mail_message(request: Request):
    key = request.path_params["key"]
    if not inbox.KEY_PATTERN.match(key):
        return page(request, "mail_message.html", status_code=400, found=None, key=key[:80],
                    problem="That is not an email's id (letters, digits and . _ : , = + - only).")
    found = inbox.find(request.app.state.view, key)
    if found is None:
        return page(request, "mail_message.html", status_code=404, found=None, key=key,
                    problem="No email with this id is in the inbox: a check removes the emails it caused, "
                            "and `make reset` empties the inbox.")
    return page(request, "mail_message.html", found=found, key=key, body=inbox.split_body(found.body), clock=inbox.clock)


routes = [
    Route("/mail", mail_list),
    Route("/mail/sms", sms_list),
    Route("/mail/inbox/{key:str}", mail_message),
]

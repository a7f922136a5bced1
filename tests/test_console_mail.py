"""The console's Mail page in a real browser: an email sent through SNS arrives on an open
page without a reload, opens on its own page with its JSON pretty-printed; an SMS published
to a phone number arrives in the SMS tab; a bad or unknown email id is a page that says so."""

from __future__ import annotations

import json
import random
import re

from browser import screenshot
from playwright.sync_api import expect
from test_console_lifecycle import request

from edalab import mail
from edalab.checks import http
from edalab.waiting import wait_for


def _mark_page(page) -> None:
    """A value that survives only as long as the page is not reloaded."""
    page.evaluate("window.__notReloaded = true")


def _not_reloaded(page) -> bool:
    return page.evaluate("window.__notReloaded === true")


def test_an_alarm_email_sent_through_sns_appears_live_and_opens_with_its_json_pretty_printed(
        console_page, lab_engine, unique):
    sns = lab_engine.client("sns")
    topic = sns.create_topic(Name=f"console-mail-{unique}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=f"ops-{unique}@edalab.local")
    alarm = {"AlarmName": f"orders-dlq-{unique}", "NewStateValue": "ALARM",
             "NewStateReason": "Threshold Crossed: 1 datapoint [3.0] was greater than the threshold (0.0).",
             "Trigger": {"MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": 0.0}}
    try:
        console_page.goto("/mail")
        _mark_page(console_page)
        sns.publish(TopicArn=topic, Message=json.dumps(alarm))
        row = console_page.locator("table.mail-list tr", has_text=f"ops-{unique}@edalab.local")
        expect(row).to_be_visible(timeout=15_000)
        expect(row).to_contain_text(f"alarm orders-dlq-{unique}: ALARM")
        assert _not_reloaded(console_page), "the email should arrive by htmx polling, not a reload"
        screenshot(console_page, "console-mail")

        row.get_by_role("link").first.click()
        expect(console_page).to_have_url(re.compile(r"/mail/inbox/[^/]+$"))
        body = console_page.locator("pre.json-body")
        expect(body).to_contain_text(f'"AlarmName": "orders-dlq-{unique}"')
        assert body.inner_text().startswith('{\n  "AlarmName"'), body.inner_text()  # indented, one key a line
        expect(console_page.locator("table.mail-headers")).to_contain_text(f"ops-{unique}@edalab.local")
        screenshot(console_page, "console-mail-message")
    finally:
        sns.delete_topic(TopicArn=topic)
        mail.delete([m for m in mail.read_inbox(lab_engine.endpoint) if unique in m.to], lab_engine.endpoint)


def test_an_sms_published_to_a_phone_number_appears_in_the_sms_tab(console_page, lab_engine, unique):
    phone = "+1555" + "".join(random.choices("0123456789", k=7))
    try:
        console_page.goto("/mail/sms")
        _mark_page(console_page)
        lab_engine.client("sns").publish(PhoneNumber=phone, Message=f"Your order {unique} has shipped")
        row = console_page.locator("table.sms-list tr", has_text=phone)
        expect(row).to_be_visible(timeout=10_000)
        expect(row).to_contain_text(f"Your order {unique} has shipped")
        expect(row).to_contain_text("ago")
        assert _not_reloaded(console_page)
        expect(console_page.locator("nav.tabs a.here")).to_contain_text("SMS")
        screenshot(console_page, "console-mail-sms")
    finally:
        http("DELETE", f"{lab_engine.endpoint}/_aws/sns/sms-messages?phoneNumber={phone.replace('+', '%2B')}")


def test_an_unknown_or_malformed_email_id_is_a_page_that_says_so(console):
    status, text = request(console.url + "/mail/inbox/1700000000.M1P1Q1.nowhere")
    assert status == 404 and "No email with this id" in text
    status, text = request(console.url + "/mail/inbox/%3Cscript%3E")
    assert status == 400 and "not an email" in text and "<script>" not in text
    wait_for(lambda: request(console.url + "/mail")[0], what="the inbox page", until=lambda code: code == 200)


def test_a_body_is_split_into_its_json_and_the_text_around_it():
    from edalab.console.inbox import split_body

    body = split_body('{"AlarmName": "a", "NewStateValue": "ALARM"}\n--\nTo unsubscribe, ...')
    assert body.document == {"AlarmName": "a", "NewStateValue": "ALARM"} and body.after.startswith("--")
    envelope = split_body(json.dumps({"Type": "Notification", "Message": json.dumps({"AlarmName": "b"})}))
    assert envelope.document["Message"] == {"AlarmName": "b"}  # an email-json envelope's Message, parsed
    plain = split_body("disk {almost} full")
    assert plain.document is None and plain.text == "disk {almost} full"

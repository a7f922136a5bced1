"""The Queues pages in a real browser against the session engine: depths that change without a
reload, peeking that changes no message, lab 02's poison upload in its DLQ and redriven from
the page, the send form's refusals, purge behind a confirmation, an unknown queue. A few unit
tests of the form checks and the dead-letter wiring come first (no browser, no engine)."""

from __future__ import annotations

import json
import uuid

import pytest
from playwright.sync_api import expect

from browser import screenshot
from edalab import bootstrap, labs
from edalab.console.queue_actions import Refused, message_attributes
from edalab.console.queue_views import shape_rows
from edalab.queue_peek import queue_messages
from edalab.waiting import wait_for


def test_message_attributes_take_plain_values_or_the_api_shape():
    assert message_attributes('{"source": "console", "n": 3}') == {
        "source": {"DataType": "String", "StringValue": "console"},
        "n": {"DataType": "Number", "StringValue": "3"}}
    assert message_attributes('{"k": {"DataType": "String", "StringValue": "v"}}') == {
        "k": {"DataType": "String", "StringValue": "v"}}
    assert message_attributes("  ") == {}
    for bad, said in [('{"k":', "not JSON"), ("[1]", "a JSON object"), ('{"k": true}', "a string or a number"),
                      ('{"k": ""}', "empty")]:
        with pytest.raises(Refused, match=said):
            message_attributes(bad)


def test_rows_know_their_dead_letter_queue_and_whose_dead_letter_queue_they_are():
    arn = "arn:aws:sqs:us-east-1:000000000000:{}"
    attributes = {
        "http://x/q/jobs": {"QueueArn": arn.format("jobs"), "ApproximateNumberOfMessages": "2",
                            "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn.format("jobs-dlq"),
                                                         "maxReceiveCount": 3})},
        "http://x/q/jobs-dlq": {"QueueArn": arn.format("jobs-dlq"), "ApproximateNumberOfMessagesNotVisible": "1"},
    }
    jobs, dlq = shape_rows(attributes, {"jobs": 42.0})
    assert (jobs.dead_letter_queue, jobs.max_receives, jobs.oldest_age, jobs.alarming) == ("jobs-dlq", 3, 42.0, False)
    assert (dlq.dead_letter_of, dlq.is_dead_letter_queue, dlq.alarming, dlq.oldest_age) == (["jobs"], True, True, None)


@pytest.fixture
def test_queue(lab_engine):
    sqs = lab_engine.client("sqs")
    name = f"console-test-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    yield name, url
    sqs.delete_queue(QueueUrl=url)


def polls_of(page, path: str, count: int) -> None:
    """Waits for `count` more htmx polls of `path` (each one peeks the queue again)."""
    for _ in range(count):
        with page.expect_response(lambda r: r.url.endswith(path) and r.request.headers.get("hx-request") == "true",
                                  timeout=5000):
            pass


def test_a_message_sent_elsewhere_changes_the_depth_on_the_open_page_within_3_s(console_page, lab_engine, test_queue):
    name, url = test_queue
    console_page.goto("/queues")
    visible = console_page.locator(f'tr[data-queue="{name}"] td.visible')
    expect(visible).to_have_text("0")
    navigations = []
    console_page.on("framenavigated", lambda frame: navigations.append(frame.url))
    lab_engine.client("sqs").send_message(QueueUrl=url, MessageBody="hello from the test")
    expect(visible).to_have_text("1", timeout=3000)
    assert navigations == [], "the page reloaded instead of updating itself"
    screenshot(console_page, "queues")


def test_peeking_leaves_the_receive_count_and_visibility_unchanged(console_page, lab_engine, test_queue):
    name, url = test_queue
    sqs = lab_engine.client("sqs")
    sent = sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"order_id": "P-1", "items": [{"sku": "lamp"}]}),
                            MessageAttributes={"source": {"DataType": "String", "StringValue": "the test"}})
    console_page.goto(f"/queues/{name}")
    card = console_page.locator(f'[data-message-id="{sent["MessageId"]}"]')
    expect(card.locator(".receives")).to_have_text("received 0 times")
    expect(card.locator(".badge")).to_have_text("visible")
    expect(card.locator("pre.body")).to_contain_text('"order_id": "P-1",\n  "items": [')  # pretty-printed
    expect(card.locator("table.message-attributes")).to_contain_text("the test")
    polls_of(console_page, f"/queues/{name}", 3)  # three more peeks

    depth = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (depth["ApproximateNumberOfMessages"], depth["ApproximateNumberOfMessagesNotVisible"]) == ("1", "0")
    received = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"], VisibilityTimeout=30)
    [message] = received["Messages"]
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"  # this receive is the first one
    expect(card.locator(".receives")).to_have_text("received 1 time", timeout=10_000)
    expect(card.locator(".badge")).to_have_text("in flight")


def test_the_send_form_refuses_bad_input_with_a_message_and_sends_good_input(console_page, test_queue):
    name, _ = test_queue
    console_page.goto(f"/queues/{name}")
    form, flash = console_page.locator("form.send"), console_page.locator("#flash")

    def send(body: str, attributes: str = "") -> int:
        form.locator("textarea[name=body]").fill(body)
        form.locator("textarea[name=attributes]").fill(attributes)
        with console_page.expect_response(lambda r: r.url.endswith(f"/queues/{name}/send")) as answer:
            form.get_by_role("button", name="Send").click()
        return answer.value.status

    assert send('{"order_id": "B-1"}', '{"source": ') == 400
    expect(flash).to_contain_text("The message attributes are not JSON")
    assert send("x" * (300 * 1024)) == 413
    expect(flash).to_contain_text("the limit is 262,144 bytes (256 KiB)")
    assert send("   ") == 400
    expect(flash).to_contain_text("The body is empty")
    expect(console_page.locator(".figure.visible")).to_have_text("0")
    expect(console_page.locator(".empty")).to_contain_text("No messages — send one with the form below")

    assert send('{"order_id": "B-2"}', '{"source": "console", "priority": 3}') == 200
    expect(flash).to_contain_text(f"to {name}")
    card = console_page.locator(".message-card")
    expect(card).to_have_count(1, timeout=10_000)
    expect(card.locator("table.message-attributes tbody tr").nth(1).locator("td")).to_have_text(["priority", "Number", "3"])
    screenshot(console_page, "queue-send")


def test_purge_asks_first_and_empties_the_queue(console_page, lab_engine, test_queue):
    name, url = test_queue
    for n in range(2):
        lab_engine.client("sqs").send_message(QueueUrl=url, MessageBody=f"message {n}")
    console_page.goto(f"/queues/{name}")
    figure = console_page.locator(".figure.visible")
    expect(figure).to_have_text("2", timeout=10_000)
    button = console_page.get_by_role("button", name=f"Purge {name}")

    console_page.once("dialog", lambda dialog: dialog.dismiss())
    button.click()
    polls_of(console_page, f"/queues/{name}", 1)
    expect(figure).to_have_text("2")

    console_page.once("dialog", lambda dialog: dialog.accept())
    button.click()
    expect(console_page.locator("#flash")).to_contain_text(f"Purged {name}")
    expect(figure).to_have_text("0", timeout=10_000)
    assert lab_engine.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_an_unknown_queue_is_a_404_page_that_says_so(console_page):
    answer = console_page.goto("/queues/no-such-queue")
    assert answer.status == 404
    expect(console_page.locator(".message")).to_contain_text("There is no queue called 'no-such-queue'")


def _delete_messages_with(sqs, url: str, text: str) -> bool:
    """Receives and deletes the messages holding `text`; others are made visible again at once."""
    found = False
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=5,
                                       WaitTimeSeconds=1).get("Messages", []):
        if text in message["Body"]:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            found = True
        else:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return found


def test_a_poison_upload_shows_in_the_dlq_and_the_redrive_button_brings_it_back(console_page, lab_engine):
    out = bootstrap.stack_outputs(labs.find("02").stack.name, lab_engine.endpoint)
    source_url, dlq_url = out["UploadsQueueUrl"], out["DeadLetterQueueUrl"]
    source, dlq = source_url.rsplit("/", 1)[-1], dlq_url.rsplit("/", 1)[-1]
    key = f"incoming/console-poison-{uuid.uuid4().hex[:8]}.json"
    s3, sqs = lab_engine.client("s3"), lab_engine.client("sqs")

    def holds_it(url: str) -> bool:
        return any(key in message.body for message in queue_messages(lab_engine.endpoint, url))

    s3.put_object(Bucket=out["UploadsBucket"], Key=key, Body=b"{broken")  # fails every time, exercise or solution
    try:
        console_page.goto("/queues")
        row = console_page.locator(f'tr[data-queue="{dlq}"]')
        expect(row.locator("td.role")).to_contain_text(f"dead-letter queue of {source}")
        expect(row).to_have_class("dlq-full", timeout=60_000)  # three receives 2 s apart, then the DLQ
        expect(row.locator("td.visible")).to_have_class("num visible bad")
        expect(console_page.locator("section.card.bad")).to_contain_text(f"{dlq}: ")  # listed first, in red
        screenshot(console_page, "queues-dlq-in-red")
        row.get_by_role("link", name=dlq).click()

        card = console_page.locator(".message-card", has_text=key)
        expect(card).to_have_count(1, timeout=10_000)
        expect(card).to_contain_text(f"dead-lettered from {source}")
        expect(console_page.locator("p.wiring")).to_contain_text(f"Dead-letter queue of {source}")
        screenshot(console_page, "queue-dlq")

        console_page.get_by_role("button", name=f"Redrive to {source}").click()
        expect(console_page.locator("#flash")).to_contain_text("Redrive started")
        task = console_page.locator(".redrive-tasks tr.task").first
        expect(task.locator(".status")).to_have_text("COMPLETED", timeout=10_000)
        expect(task.locator(".moved")).to_contain_text(" / ")
        moved, to_move = task.locator(".moved").inner_text().split(" messages")[0].split(" / ")
        assert int(moved) == int(to_move) >= 1

        # back in the source queue (visible or being retried), gone from the DLQ
        wait_for(lambda: holds_it(source_url), timeout=10, what=f"{key} back in {source}")
        assert not holds_it(dlq_url)
        screenshot(console_page, "queue-dlq-redriven")
        # it fails again: three more receives and it is back in the DLQ
        wait_for(lambda: holds_it(dlq_url), timeout=60, what=f"{key} in {dlq} again")
    finally:
        wait_for(lambda: _delete_messages_with(sqs, dlq_url, key) or _delete_messages_with(sqs, source_url, key),
                 timeout=60, what=f"{key} deleted")
        s3.delete_object(Bucket=out["UploadsBucket"], Key=key)
        lab_engine.client("dynamodb").delete_item(TableName=out["StatusTable"], Key={"key": {"S": key}})

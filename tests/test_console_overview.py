"""The console in a real browser: the overview lists every lab with a link to its page,
refreshes itself, and lists anything red first (here: a dead-letter queue holding a message)."""

from __future__ import annotations

import json
import re

from browser import screenshot
from playwright.sync_api import expect

from edalab import labs
from support import create_queue


def test_the_overview_lists_every_lab_with_its_stack(console_page):
    console_page.goto("/")
    for lab in labs.all_labs():
        link = console_page.locator(f'#live a[href="/labs/{lab.number}"]')
        expect(link).to_have_text(f"{lab.number} · {lab.title}")
        row = console_page.locator("#live tr", has=console_page.locator(f'a[href="/labs/{lab.number}"]'))
        expect(row).to_contain_text(re.compile(r"(CREATE|UPDATE)_COMPLETE"))  # every lab is deployed (the fixture)
        expect(row).to_contain_text(re.compile(r"not checked yet: make check|\d+ of \d+ steps"))  # its last check
    assert console_page.locator("#live").get_attribute("hx-trigger") == "every 2s"
    expect(console_page.locator("#live")).to_contain_text("healthy")
    expect(console_page.locator("#live")).to_contain_text("Engine up for")
    expect(console_page.locator(".counts")).to_contain_text("queues")
    screenshot(console_page, "overview")


def test_a_dead_letter_queue_holding_a_message_is_listed_first_until_it_is_gone(console_page, lab_engine, unique):
    sqs = lab_engine.client("sqs")
    dlq_url, dlq_arn = create_queue(sqs, f"console-red-{unique}-dlq")
    source_url, _ = create_queue(sqs, f"console-red-{unique}",
                                 RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}))
    try:
        console_page.goto("/")
        red = console_page.locator("#attention li", has_text=f"console-red-{unique}-dlq")
        expect(red).to_have_count(0)
        sqs.send_message(QueueUrl=dlq_url, MessageBody='{"poison": true}')

        expect(red).to_have_count(1, timeout=10_000)  # the page polls every 2 s, no reload
        expect(red.locator("a")).to_have_attribute("href", f"/queues/console-red-{unique}-dlq")
        expect(red).to_contain_text(f"failed in console-red-{unique}")
        first = console_page.locator("#live > *").first
        expect(first).to_have_id("attention")  # before the engine, the labs and the counts
        screenshot(console_page, "overview-red")

        sqs.purge_queue(QueueUrl=dlq_url)
        expect(red).to_have_count(0, timeout=10_000)
    finally:
        sqs.delete_queue(QueueUrl=source_url)
        sqs.delete_queue(QueueUrl=dlq_url)


def test_an_alarm_in_alarm_is_listed_with_a_link_to_its_page(console_page, lab_engine, unique):
    cloudwatch, name = lab_engine.client("cloudwatch"), f"console-red-{unique}"
    # As on AWS, an evaluation replaces a state set by hand (at once when the alarm is put, late on
    # a busy machine, then each minute); with no data and missing data ignored, it keeps the state.
    cloudwatch.put_metric_alarm(AlarmName=name, Namespace="EdaLab/ConsoleTest", MetricName="Failures", Statistic="Sum",
                                Period=300, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
                                TreatMissingData="ignore")
    try:
        console_page.goto("/")
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="set by the console's test")
        red = console_page.locator("#attention li", has_text=name)
        expect(red.locator("a")).to_have_attribute("href", f"/alarms/{name}", timeout=10_000)
        expect(red).to_contain_text("in ALARM: set by the console's test")
    finally:
        cloudwatch.delete_alarms(AlarmNames=[name])
    expect(red).to_have_count(0, timeout=10_000)

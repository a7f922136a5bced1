"""The console's alarm pages in a real browser: lab 04's DLQ alarm turns red on an open page when
an order reaches the DLQ, its history shows the change, and its metric is drawn with the
threshold line; composite alarms show their rule and children; unknown names get a 404 page."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime

from browser import screenshot
from playwright.sync_api import expect

from edalab import mail
from edalab.console import alarm_details
from edalab.queue_cleanup import remove_messages
from edalab.waiting import wait_for

ALARM = "edalab-orders-dlq-not-empty"
DLQ = "edalab-orders-dlq"


def alarm_state(cloudwatch) -> str:
    return cloudwatch.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]["StateValue"]


def alarm_emails(endpoint: str, since: float, state: str | None = None) -> list[mail.Mail]:
    """The alarm's emails about state changes since `since` (those to `state` only, if given)."""
    found = []
    for message in mail.read_inbox(endpoint):
        try:
            body = json.loads(message.body)
            changed = datetime.fromisoformat(body["StateChangeTime"].replace("+0000", "+00:00")).timestamp()
        except (ValueError, KeyError, TypeError):
            continue
        if body.get("AlarmName") == ALARM and changed >= since and state in (None, body.get("NewStateValue")):
            found.append(message)
    return found


def test_the_dlq_alarm_turns_red_with_its_history_and_its_chart(console_page, lab_engine):
    sqs, cloudwatch = lab_engine.client("sqs"), lab_engine.client("cloudwatch")
    period = cloudwatch.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]["Period"]
    wait_for(lambda: alarm_state(cloudwatch), what=f"{ALARM} to be out of ALARM before the test", timeout=30 + 4 * period,
             until=lambda state: state != "ALARM")
    since = time.time()
    page = console_page
    page.goto(f"/alarms/{ALARM}")
    expect(page.locator("#alarm-state")).not_to_have_text("ALARM")
    url = sqs.get_queue_url(QueueName=DLQ)["QueueUrl"]
    order = f"console-alarm-{uuid.uuid4().hex[:8]}"
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"order_id": order, "customer": "Test", "items": []}))
    try:
        state = page.locator("#alarm-state")
        expect(state).to_have_text("ALARM", timeout=(30 + 3 * period) * 1000)  # the open page, without a reload
        expect(state).to_have_css("background-color", "rgb(198, 40, 40)")
        newest_change = page.locator('tr.history-item[data-type="StateUpdate"]').first
        expect(newest_change).to_contain_text("→ ALARM")
        expect(page.locator("#alarm-chart canvas").first).to_be_visible()
        chart = json.loads(page.locator("#alarm-chart script.chart-data").text_content())
        assert chart["threshold"] == 0 and chart["lines"][0]["value"] == 0
        assert chart["points"] == len(chart["x"]) == int(page.locator("#alarm-chart").get_attribute("data-points"))
        assert max(v for v in chart["series"][0]["values"] if v is not None) >= 1  # the order in the DLQ
        screenshot(page, "alarm")

        page.goto("/alarms")
        row = page.locator(f'tr[data-alarm="{ALARM}"]')
        expect(row).to_have_attribute("data-state", "ALARM")
        expect(row.locator(".alarm-state")).to_have_css("background-color", "rgb(198, 40, 40)")
        expect(row).to_contain_text("ApproximateNumberOfMessagesVisible (QueueName = edalab-orders-dlq)")
        expect(row).to_contain_text("edalab-order-alerts")
        expect(row.locator(".condition")).to_contain_text("value > 0")
        expect(row.locator(".condition .period")).to_have_text(f"{period} s × 1 period(s)")
        expect(page.locator("tbody tr").first).to_have_attribute("data-state", "ALARM")  # red first
        screenshot(page, "alarms")
    finally:
        remove_messages(sqs, url, lambda body: order in body)
        wait_for(lambda: alarm_state(cloudwatch), what=f"{ALARM} back to OK", timeout=30 + 4 * period,
                 until=lambda state: state == "OK")
        wait_for(lambda: alarm_emails(lab_engine.endpoint, since, "OK"), what="the alarm's OK email", timeout=15)
        mail.delete(alarm_emails(lab_engine.endpoint, since), lab_engine.endpoint)


def test_a_composite_alarm_shows_its_rule_and_its_childrens_states(console_page, lab_engine):
    cloudwatch, name = lab_engine.client("cloudwatch"), f"console-composite-{uuid.uuid4().hex[:8]}"
    cloudwatch.put_composite_alarm(AlarmName=name, AlarmRule=f'ALARM("{ALARM}") OR ALARM(edalab-welcome-dead-letters)')
    try:
        console_page.goto(f"/alarms/{name}")
        children = console_page.locator("#alarm-rule tbody tr")
        expect(children).to_have_count(2)
        expect(children.first).to_contain_text(ALARM)
        expect(console_page.locator("#alarm-chart")).to_have_count(0)
        screenshot(console_page, "alarm-composite")
    finally:
        cloudwatch.delete_alarms(AlarmNames=[name])


def test_an_unknown_or_impossible_alarm_name_gets_a_page_that_says_so(console_page):
    answer = console_page.goto("/alarms/no-such-alarm-here")
    assert answer.status == 404
    expect(console_page.locator("h1")).to_have_text("Not found")
    expect(console_page.locator(".message")).to_contain_text("no alarm named 'no-such-alarm-here'")
    answer = console_page.goto("/alarms/" + "x" * 300)
    assert answer.status == 400
    expect(console_page.locator(".message")).to_contain_text("cannot be an alarm name")


# The alarm's words and queries, from DescribeAlarms answers (no engine) -------------------------

MATH_ALARM = {
    "AlarmName": "errors-ratio", "StateValue": "INSUFFICIENT_DATA", "Threshold": 0.05, "EvaluationPeriods": 3,
    "DatapointsToAlarm": 2, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    "AlarmActions": ["arn:aws:sns:us-east-1:000000000000:pager", "arn:aws:lambda:us-east-1:000000000000:function:fix"],
    "Metrics": [
        {"Id": "errors", "ReturnData": False, "MetricStat": {"Period": 60, "Stat": "Sum", "Metric": {
            "Namespace": "AWS/Lambda", "MetricName": "Errors", "Dimensions": [{"Name": "FunctionName", "Value": "f"}]}}},
        {"Id": "ratio", "Expression": "errors / 100", "Label": "error ratio", "ReturnData": True, "AccountId": "1"},
    ],
}


def test_a_metric_math_alarm_is_described_by_its_expression_period_and_actions():
    described = alarm_details.describe(MATH_ALARM, "metric")
    assert described["watches"] == "expression errors / 100"
    assert (described["comparison"], described["threshold_text"]) == ("≥", "0.05")
    assert (described["period"], described["datapoints"], described["evaluation_periods"]) == (60, 2, 3)
    assert described["actions"] == {"ALARM": ["pager", "lambda: function:fix"]}
    assert described["state_class"] == "muted"
    assert [q["returned"] for q in described["queries"]] == [False, True]


def test_an_alarm_is_charted_with_its_own_queries_or_statistic():
    queries, drawn = alarm_details.alarm_queries(MATH_ALARM)
    assert [q["Id"] for q in queries] == ["errors", "ratio"] and "AccountId" not in queries[1]
    assert drawn == [{"id": "ratio", "label": "error ratio"}]
    queries, drawn = alarm_details.alarm_queries({
        "Namespace": "AWS/SQS", "MetricName": "ApproximateAgeOfOldestMessage", "ExtendedStatistic": "p95",
        "Dimensions": [], "Period": 300, "Unit": "Seconds"})
    assert queries[0]["MetricStat"] == {"Metric": {"Namespace": "AWS/SQS", "MetricName": "ApproximateAgeOfOldestMessage",
                                                   "Dimensions": []}, "Period": 300, "Stat": "p95", "Unit": "Seconds"}
    assert [alarm_details.chart_window(p).total_seconds() / 60 for p in (10, 60, 300, 3600)] == [30, 30, 60, 600]

"""Lab 07 with the reference solution: the traffic generator sends the mix it is asked for and
refuses settings it cannot send; under poison and slow traffic every alarm of the lab really
fires and emails on-call (error rate by metric math, DLQ depth, p95 duration, the age of the
oldest order, and the composite "orders unhealthy"); the Logs Insights queries the README
teaches answer what the README says they answer, counted against what was sent; a threshold
that normal retries already cross fails the check at the alarm step, with the threshold hint.
(The check on the pristine exercise and on the solution runs in test_labs.py.)"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from itertools import islice

import pytest

from edalab import bootstrap, labs, mail
from edalab.checks import json_log_lines
from edalab.waiting import wait_for
from edalab.exercise_validation import ExerciseRejected
from support import assert_near_miss_fails, deploy_lab, deploy_near_miss, queue_depth

ALARM_FILE = "labs/07-monitoring/exercise/oldest-message-alarm.json"
SLOW_MS = 1200  # FAST_PARAMETERS' SlowOrderSeconds
COMPOSITE = "edalab-monitored-orders-unhealthy"
BIN_MS = 5 * 60 * 1000  # the README's first query counts by bin(5m)


@pytest.fixture(scope="module")
def lab():
    return labs.find("07")


@pytest.fixture(scope="module")
def traffic(lab):
    return lab.load_module("traffic.py")


def test_traffic_sends_the_asked_mix_and_refuses_what_it_cannot_send(lab_engine, traffic):
    assert Counter(islice(traffic.kinds(0.1, 0.1), 100)) == {"good": 80, "slow": 10, "poison": 10}
    assert Counter(islice(traffic.kinds(0.3, 0.2), 1000)) == {"good": 500, "slow": 200, "poison": 300}
    assert Counter(islice(traffic.kinds(0, 0), 50)) == {"good": 50}
    said = []
    for settings, words in (({"rate": -1}, "RATE=-1"), ({"rate": 0}, "above 0"), ({"fail": 1.5}, "FAIL=1.5"),
                            ({"slow": -0.1}, "SLOW=-0.1"), ({"fail": 0.7, "slow": 0.5}, "add up to 1.2"),
                            ({"duration": 0}, "DURATION=0")):
        args = argparse.Namespace(**{"rate": None, "fail": None, "slow": None, "duration": None, **settings})
        assert traffic.run(lab_engine.endpoint, args, said.append) == 2
        assert words in said[-1], said[-1]
    assert not any("Traceback" in line for line in said)


def test_a_broken_exercise_file_is_refused_with_its_reasons(lab_engine, lab, tmp_path):
    widget = "labs/07-monitoring/exercise/rejected-widget.json"
    for n, (edits, said) in enumerate((
        ({widget: [('"x": 0', '"x": 30'), ('"type": "metric"', '"type": "chart"')]},
         ["the widget's x: Should be <= 23", "the widget's type: Should be equal to one of the allowed values"]),
        ({widget: [('"width": 24,', '"width": 24')]}, ["not valid JSON", "check the quotes, commas and brackets"]),
        ({widget: [('"metrics": [', '"metrics": [["EdaLab/Orders"], ')]},
         ["metrics row 1: a metric row starts with a namespace and a metric name"]),
        ({ALARM_FILE: [('"AWS/SQS"', '""'), ('"Period": 10', '"Period": "10"'),
                       ("edalab-monitoring-alerts\"]", "nobody\"]")]},
         ['"Namespace" is missing or empty', '"Period" is "10": a whole number of seconds',
          "names the topic arn:aws:sns:us-east-1:000000000000:nobody, which does not exist"]),
    )):
        with pytest.raises(ExerciseRejected) as refused:
            deploy_near_miss(lab, lab_engine.endpoint, tmp_path / str(n), edits)
        for words in said:
            assert words in str(refused.value), str(refused.value)
        assert "Traceback" not in str(refused.value)


def test_near_misses_fail_at_the_step_of_their_rule_with_its_hint(lab_engine, lab, tmp_path):
    widget = "labs/07-monitoring/exercise/rejected-widget.json"
    # the queue's URL where its name belongs, and widget rows without the service dimension
    report = assert_near_miss_fails(
        lab, lab_engine.endpoint, tmp_path / "dimensions",
        {ALARM_FILE: [('"Value": "edalab-monitored-orders"',
                       '"Value": "http://localhost:4566/queue/us-east-1/000000000000/edalab-monitored-orders"')],
         widget: [('"service", "orders", "reason"', '"reason"')]},
        "Your alarm watches the age", ["has dimensions", "the queue's name, not its URL or ARN"], hint=1)
    no_data = next(r for r in report.results if r.title.startswith("Your widget's metric has data points"))
    assert no_data.status == "failed" and no_data.hint == 4, no_data
    assert "service" in no_data.message and "reason" in no_data.message, no_data.message
    # no OK action: on-call never hears that it is over
    assert_near_miss_fails(lab, lab_engine.endpoint, tmp_path / "ok-action",
                           {ALARM_FILE: [('"OKActions": ["arn:aws:sns:us-east-1:000000000000:edalab-monitoring-alerts"]',
                                          '"OKActions": []')]},
                           "Your alarm watches the age", "when it returns to OK", hint=3)


def _states(cloudwatch) -> dict[str, str]:
    found = cloudwatch.describe_alarms(AlarmNamePrefix="edalab-monitored-orders",
                                       AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    return {a["AlarmName"]: a["StateValue"] for a in found["MetricAlarms"] + found["CompositeAlarms"]}


def _insights(logs, group: str, query: str, since: float) -> list[dict]:
    query_id = logs.start_query(logGroupName=group, startTime=int(since) - 5, endTime=int(time.time()) + 60,
                                queryString=query)["queryId"]
    answer = wait_for(lambda: logs.get_query_results(queryId=query_id), what="the Insights query", timeout=30,
                      until=lambda a: a["status"] == "Complete")
    return [{cell["field"]: cell["value"] for cell in row if cell["field"] != "@ptr"} for row in answer["results"]]


def _rejected_lines(logs, group: str, since: float) -> list[tuple[int, dict]]:
    """(timestamp in ms, line) of every "order rejected" JSON line in `group` from `since` - 5 s
    (the window `_insights` queries), read from the raw events."""
    found = []
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=(int(since) - 5) * 1000)
    for event in (event for page in pages for event in page["events"]):
        try:
            line = json.loads(event["message"])
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("message") == "order rejected":
            found.append((event["timestamp"], line))
    return found


def test_alarms_fire_and_the_readme_queries_answer_as_it_says(lab_engine, lab, traffic, tmp_path):
    # A threshold normal retries cross is refused; deployed, it also makes the age alarm (and so
    # the composite) fire under poison traffic, which the rest of the test needs.
    assert_near_miss_fails(lab, lab_engine.endpoint, tmp_path, {ALARM_FILE: [('"Threshold": 45', '"Threshold": 10')]},
                           "Your alarm watches the age", "3 visibility timeouts", hint=2)
    outputs = bootstrap.stack_outputs(lab.stack.name, lab_engine.endpoint)
    cloudwatch, logs, sqs = (lab_engine.client(s) for s in ("cloudwatch", "logs", "sqs"))
    started = time.time()
    sent = traffic.send_orders(lab_engine.endpoint, rate=5, fail=0.5, slow=0.2, duration=20, say=print)
    assert sent.kinds == {"good": 30, "slow": 20, "poison": 50}
    assert sent.reasons == {"unknown_sku": 13, "bad_quantity": 13, "no_items": 12, "not_json": 12}

    fired: set[str] = set()

    def firing():
        fired.update(name for name, state in _states(cloudwatch).items() if state == "ALARM")
        return fired

    every = {outputs["ErrorRateAlarmName"], outputs["DeadLetterAlarmName"], outputs["SlowOrdersAlarmName"],
             "edalab-monitored-orders-stuck", COMPOSITE}
    wait_for(firing, what=f"every alarm of lab 07 in ALARM at some point: {sorted(every)}", timeout=60,
             interval=1, until=lambda seen: seen >= every)

    def alarm_emails():
        return {name for m in mail.read_inbox(lab_engine.endpoint) if m.received >= started
                and '"NewStateValue": "ALARM"' in m.body for name in every if f'"AlarmName": "{name}"' in m.body}

    wait_for(alarm_emails, what="an ALARM email to on-call from each alarm", timeout=30, until=lambda got: got >= every)

    # Every poison order ends in the DLQ after 3 receives; every other order is processed once.
    wait_for(lambda: queue_depth(sqs, outputs["DeadLetterQueueUrl"]), what="the poison orders in the DLQ",
             timeout=60, until=lambda n: n == 50)
    processed = Counter(line["correlation_id"] for line in json_log_lines(logs, outputs["ProcessorName"])
                        if line.get("message") == "order processed"
                        and line.get("correlation_id", "").startswith(f"traffic-{sent.run}-"))
    assert len(processed) == 50 and set(processed.values()) == {1}

    # The README's Logs Insights queries, as written there, answer what it says they answer.
    readme = (lab.folder / "README.md").read_text()
    by_reason, slowest, report = re.findall(r"--query-string '([^']*)'", readme)[:3]
    # The first counts rejections and rejected orders by reason per 5-minute bin. Its answer is
    # compared with the same counts made here from the raw "order rejected" lines (once all 3 of
    # each poison order have reached the log group): an order whose receives straddle a bin's edge
    # counts once in each bin, as on AWS, so summing the bins is not the number of orders.
    rejected = wait_for(lambda: _rejected_lines(logs, outputs["LogGroupName"], started),
                        what="every poison order's 3 \"order rejected\" lines in the log group", timeout=60,
                        until=lambda lines: len(lines) >= 3 * sum(sent.reasons.values()))
    assert all(line["correlation_id"].startswith(f"traffic-{sent.run}-") for _, line in rejected)  # this run's only
    orders_by_reason = {reason: len({line["correlation_id"] for _, line in rejected if line["reason"] == reason})
                        for reason in {line["reason"] for _, line in rejected}}
    assert orders_by_reason == sent.reasons
    assert Counter(line["reason"] for _, line in rejected) == {reason: 3 * n for reason, n in sent.reasons.items()}
    per_bin: dict[tuple[str, int], list[str]] = {}
    for timestamp_ms, line in rejected:
        per_bin.setdefault((line["reason"], timestamp_ms // BIN_MS), []).append(line["correlation_id"])
    expected = Counter((reason, len(ids), len(set(ids))) for (reason, _), ids in per_bin.items())
    rows = _insights(logs, outputs["LogGroupName"], by_reason, started)
    for row in rows:
        assert set(row) == {"reason", "period", "rejections", "orders"}, row
    assert Counter((row["reason"], int(row["rejections"]), int(row["orders"])) for row in rows) == expected

    rows = _insights(logs, outputs["LogGroupName"], slowest, started)
    assert len(rows) == 10 and all(r["engraved"] == "true" and int(r["duration_ms"]) >= SLOW_MS for r in rows), rows
    assert [int(r["duration_ms"]) for r in rows] == sorted((int(r["duration_ms"]) for r in rows), reverse=True)

    (row,) = _insights(logs, outputs["LogGroupName"], report, started)
    assert int(row["invocations"]) == 30 + 20 + 3 * 50  # good, slow, and each poison order 3 times
    assert float(row["max_ms"]) >= SLOW_MS > float(row["avg_ms"])

    # Back to the lab as deployed (the solution), every alarm OK and its emails gone, so later
    # tests find a quiet lab and inbox.
    sqs.purge_queue(QueueUrl=outputs["DeadLetterQueueUrl"])
    deploy_lab(lab, lab_engine.endpoint, solution=True)
    wait_for(lambda: _states(cloudwatch), what="every alarm of lab 07 back to OK", timeout=90, interval=1,
             until=lambda states: set(states.values()) == {"OK"})

    def ours():
        return [m for m in mail.read_inbox(lab_engine.endpoint)
                if m.received >= started and "edalab-monitored-orders" in m.body]

    seen = {"count": -1, "since": time.monotonic()}

    def settled():
        now = len(ours())
        if now != seen["count"]:
            seen.update(count=now, since=time.monotonic())
        return time.monotonic() - seen["since"] >= 3

    wait_for(settled, what="the alarm emails to stop arriving", timeout=30, interval=0.5)
    mail.delete(ours(), lab_engine.endpoint)

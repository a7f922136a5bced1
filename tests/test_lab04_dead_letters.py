"""Lab 04 with the reference solution: every kind of poison order is dead-lettered after
exactly 3 receives with a logged reason, good orders are processed once, an order over
256 KB is refused at the door, and after the fix a redrive processes every order exactly
once. The lab's check, with the lab's own settings, passes within 90 s and puts everything back
(the queue's visibility timeout, its orders, messages and product, the alarm emails it caused);
each near miss of the exercise fails it at the step of the rule it breaks, with that rule's hint.
(The check on the pristine exercise and on the solution runs in test_labs.py.)"""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from edalab import bootstrap, labs, mail
from edalab.check_run import run_check
from edalab.checks import http, json_log_lines
from edalab.waiting import wait_for
from support import deploy_lab, deploy_near_miss, queue_depth, stack_contents


ALARM = "edalab-orders-dlq-not-empty"


@pytest.fixture(scope="module")
def orders(lab_engine):
    lab = labs.find("04")
    deploy_lab(lab, lab_engine.endpoint, solution=True)
    return lab_engine, bootstrap.stack_outputs(lab.stack.name, lab_engine.endpoint)


def order(order_id, sku="lamp", qty=1):
    return json.dumps({"order_id": order_id, "customer": "Test", "items": [{"sku": sku, "qty": qty}]})


def processed(engine, table, order_ids):
    items = []
    for start in range(0, len(order_ids), 100):
        keys = [{"order_id": {"S": o}} for o in order_ids[start:start + 100]]
        items += engine.client("dynamodb").batch_get_item(
            RequestItems={table: {"Keys": keys, "ConsistentRead": True}})["Responses"][table]
    return {i["order_id"]["S"]: int(i["times_processed"]["N"]) for i in items}


def rejections(engine, function, message_ids):
    """Log lines `order rejected` per message id, with their reasons."""
    found = {}
    for line in json_log_lines(engine.client("logs"), function):
        if line.get("message") == "order rejected" and line.get("message_id") in message_ids:
            found.setdefault(line["message_id"], []).append(line["reason"])
    return found


def drain_dlq(engine, url, wanted_ids):
    """Receives (and deletes) the DLQ messages whose ids are wanted; returns their bodies by id."""
    sqs, got = engine.client("sqs"), {}

    def probe():
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            if m["MessageId"] in wanted_ids:
                got[m["MessageId"]] = m["Body"]
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return len(got)

    wait_for(probe, what=f"{len(wanted_ids)} poison orders in the DLQ", timeout=60, until=lambda n: n == len(wanted_ids))
    return got


POISON = {
    "not JSON": ('{"order_id": "%s", "items": [', "not JSON"),
    "not an object": ('["%s"]', "not an object"),
    "missing customer": ('{"order_id": "%s", "items": [{"sku": "lamp", "qty": 1}]}', "'customer' is missing"),
    "qty as a string": ('{"order_id": "%s", "customer": "C", "items": [{"sku": "lamp", "qty": "2"}]}', "items[0].qty"),
    "qty as a boolean": ('{"order_id": "%s", "customer": "C", "items": [{"sku": "lamp", "qty": true}]}', "items[0].qty"),
    "qty zero": ('{"order_id": "%s", "customer": "C", "items": [{"sku": "lamp", "qty": 0}]}', "items[0].qty"),
    "no items": ('{"order_id": "%s", "customer": "C", "items": []}', "'items' is missing"),
    "unknown product": ('{"order_id": "%s", "customer": "C", "items": [{"sku": "sofa-%s", "qty": 1}]}', "not in the catalog"),
}


def test_every_kind_of_poison_is_dead_lettered_after_exactly_three_receives_with_its_reason(orders):
    engine, out = orders
    sqs, run = engine.client("sqs"), uuid.uuid4().hex[:6]
    sent = {}
    for kind, (template, reason) in POISON.items():
        body = template % ((f"{run}-{kind}",) * template.count("%s"))
        sent[sqs.send_message(QueueUrl=out["OrdersQueueUrl"], MessageBody=body)["MessageId"]] = (kind, body, reason)
    good = [f"{run}-good-{n}" for n in range(10)]
    for order_id in good:
        sqs.send_message(QueueUrl=out["OrdersQueueUrl"], MessageBody=order(order_id, "mug", 2))

    dead = drain_dlq(engine, out["DeadLetterQueueUrl"], set(sent))
    assert {mid: body for mid, body in dead.items()} == {mid: body for mid, (_, body, _) in sent.items()}
    logged = wait_for(lambda: rejections(engine, out["ProcessorName"], set(sent)), what="3 log lines per poison order",
                      timeout=15, until=lambda found: len(found) == len(sent) and all(len(r) >= 3 for r in found.values()))
    for message_id, (kind, _, reason) in sent.items():
        assert len(logged[message_id]) == 3, f"{kind}: rejected {len(logged[message_id])} times"
        assert all(reason in r for r in logged[message_id]), f"{kind}: {logged[message_id][0]}"
    assert processed(engine, out["OrdersTable"], good) == dict.fromkeys(good, 1)


def test_an_order_over_256_kb_is_refused_at_the_door(orders):
    engine, out = orders
    sqs = engine.client("sqs")
    huge = order("huge") + " " * (256 * 1024)
    with pytest.raises(ClientError) as refused:
        sqs.send_message(QueueUrl=out["OrdersQueueUrl"], MessageBody=huge)
    assert "262144" in str(refused.value) or "too long" in str(refused.value).lower()


def test_after_the_fix_a_redrive_processes_every_order_exactly_once(orders):
    engine, out = orders
    sqs, lam, run = engine.client("sqs"), engine.client("lambda"), uuid.uuid4().hex[:6]
    product = f"sofa-{run}"
    good = [f"{run}-good-{n}" for n in range(15)]
    stuck = [f"{run}-stuck-{n}" for n in range(5)]
    ids = {}
    for order_id in good:
        sqs.send_message(QueueUrl=out["OrdersQueueUrl"], MessageBody=order(order_id))
    for order_id in stuck:
        ids[sqs.send_message(QueueUrl=out["OrdersQueueUrl"], MessageBody=order(order_id, product))["MessageId"]] = order_id
    wait_for(lambda: processed(engine, out["OrdersTable"], good), what="the good orders", timeout=30,
             until=lambda seen: len(seen) == len(good))

    def stuck_in_dlq():  # peek without taking them (visibility 0)
        seen = set()
        for _ in range(5):
            for m in sqs.receive_message(QueueUrl=out["DeadLetterQueueUrl"], MaxNumberOfMessages=10,
                                         VisibilityTimeout=0).get("Messages", []):
                seen.add(m["MessageId"])
        return seen & set(ids)

    wait_for(stuck_in_dlq, what="the 5 stuck orders in the DLQ", timeout=60, until=lambda s: len(s) == len(ids))
    assert processed(engine, out["OrdersTable"], stuck) == {}

    engine.client("dynamodb").put_item(TableName=out["CatalogTable"],
                                       Item={"sku": {"S": product}, "price": {"N": "10"}})
    reply = lam.invoke(FunctionName=out["RedriveName"], Payload=b"{}")
    assert "FunctionError" not in reply, reply["Payload"].read()
    assert json.loads(reply["Payload"].read())["task_handle"]

    everyone = good + stuck
    wait_for(lambda: processed(engine, out["OrdersTable"], everyone), what="every order processed", timeout=60,
             until=lambda seen: len(seen) == len(everyone))
    wait_for(lambda: queue_depth(sqs, out["OrdersQueueUrl"]) + queue_depth(sqs, out["DeadLetterQueueUrl"]),
             what="both queues empty", timeout=30, until=lambda depth: depth == 0)
    assert processed(engine, out["OrdersTable"], everyone) == dict.fromkeys(everyone, 1)


# The check, as a learner runs it, and its near misses ------------------------------------------

DLQ_ARN = "arn:aws:sqs:us-east-1:000000000000:edalab-orders-dlq"
POLICY = "labs/04-dead-letter-queues/exercise/redrive-policy.json"
REDRIVE = "handlers/orders_redrive/app.py"


def alarm_emails(engine):
    """Every alarm email the on-call inbox holds, as (recipient, body) pairs, and how many the
    engine's own record of sent email (`/_aws/ses`) keeps, once the two agree (SES records an
    email a moment before the relay files it)."""
    return wait_for(lambda: _alarm_emails(engine), what="the inbox and SES's record to hold the same alarm emails",
                    timeout=15, until=lambda found: len(found[0]) == found[1])


def settled_alarm_emails(engine):
    """`alarm_emails` once the alarm is out of ALARM and the email of each way out is in the inbox.
    An earlier test's incident can still be ending when a test starts: its OK email, arriving during
    the check, is not the check's to remove, and would differ from what the test saw before."""
    alarms = engine.client("cloudwatch")
    alarm = alarms.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]
    wait_for(lambda: alarms.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]["StateValue"],
             what=f"{ALARM} to leave ALARM after the earlier tests' incidents", timeout=30 + 4 * alarm["Period"],
             until=lambda state: state != "ALARM")

    def settled(found) -> bool:
        inbox, kept = found
        states = [json.loads(body) for _, body in inbox]
        into = sum(s.get("NewStateValue") == "ALARM" for s in states)
        out_of = sum(s.get("OldStateValue") == "ALARM" for s in states)
        return len(inbox) == kept and into == out_of

    return wait_for(lambda: _alarm_emails(engine), what="an email for each time the alarm left ALARM", timeout=30,
                    until=settled)


def _alarm_emails(engine):
    inbox = sorted((m.to, m.body) for m in mail.read_inbox(engine.endpoint) if ALARM in m.body)
    recorded = http("GET", f"{engine.endpoint}/_aws/ses").body  # not JSON until SES has sent an email
    sent = recorded.get("messages", []) if isinstance(recorded, dict) else []
    kept = [m for m in sent if ALARM in json.dumps(m)]
    return inbox, len(kept)


def visibility(engine, out):
    return engine.client("sqs").get_queue_attributes(
        QueueUrl=out["OrdersQueueUrl"], AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"]


def test_the_check_passes_with_the_labs_own_settings_and_puts_them_back(orders):
    """The lab as a learner deploys it (visibility 60 s): the check passes (it shortens the
    retries for its own run; how long it takes is measured by `make bench`), and the queue's
    visibility timeout, the tables, queues and the inbox are as they were. It starts where a
    check killed midway leaves the queue: with the check's 3 s, which it replaces by the
    stack's 60 s before its good orders run."""
    engine, out = orders
    lab = labs.find("04")
    labs.deploy(lab, engine.endpoint, solution=True)  # the template's own parameters, not the tests' fast ones
    try:
        assert visibility(engine, out) == "60"
        engine.client("sqs").set_queue_attributes(QueueUrl=out["OrdersQueueUrl"], Attributes={"VisibilityTimeout": "3"})
        before, emails = stack_contents(engine.endpoint, lab.stack.name), settled_alarm_emails(engine)
        report = run_check(lab, engine.endpoint)
        assert report.passed, report.first_failure
        assert report.cleanup_problems == []
        assert visibility(engine, out) == "60"
        assert stack_contents(engine.endpoint, lab.stack.name) == before
        assert alarm_emails(engine) == emails  # the ALARM and OK emails it caused are gone, nothing else
    finally:
        deploy_lab(lab, engine.endpoint, solution=True)


NEAR_MISSES = {
    "maxReceiveCount 5": (
        {POLICY: [('"maxReceiveCount": 3', '"maxReceiveCount": 5')]},
        "The orders queue sends an order to edalab-orders-dlq after 3 receives", "maxReceiveCount is 5", 2),
    "dead letters to another queue": (
        {POLICY: [(DLQ_ARN, DLQ_ARN.replace("orders-dlq", "order-receipt-failures"))]},
        "The orders queue sends an order to edalab-orders-dlq after 3 receives", "deadLetterTargetArn", 1),
    "redrive from the orders queue": (
        {REDRIVE: [("SourceArn=dlq", "SourceArn=source"), ("DestinationArn=source", "DestinationArn=dlq")]},
        "After the fix, your redrive", "must start a message move task from the DLQ", 4),
    "redrive without the task handle": (
        {REDRIVE: [('"task_handle": task["TaskHandle"], ', "")]},
        "After the fix, your redrive", "task_handle", 4),
    "redrive to the wrong queue": (
        {REDRIVE: [("DestinationArn=source", 'DestinationArn=dlq.replace("orders-dlq", "order-receipt-failures")')]},
        "After the fix, your redrive", "in edalab-order-receipt-failures", 4),
}


@pytest.mark.parametrize("near_miss", sorted(NEAR_MISSES))
def test_a_near_miss_fails_at_the_step_of_its_rule_and_leaves_nothing_behind(orders, tmp_path, near_miss):
    engine, _ = orders
    lab = labs.find("04")
    edits, step_title, rule, hint = NEAR_MISSES[near_miss]
    deploy_near_miss(lab, engine.endpoint, tmp_path, edits)
    try:
        before, emails = stack_contents(engine.endpoint, lab.stack.name), settled_alarm_emails(engine)
        report = run_check(lab, engine.endpoint)
        failure = report.first_failure
        assert failure is not None and failure.title.startswith(step_title), failure
        assert rule in failure.message and failure.hint == hint, failure
        assert report.cleanup_problems == []
        assert stack_contents(engine.endpoint, lab.stack.name) == before
        assert alarm_emails(engine) == emails
    finally:
        deploy_lab(lab, engine.endpoint, solution=True)

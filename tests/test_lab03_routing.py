"""Lab 03 with the reference solution: a generated mixed stream reaches exactly the consumers
meant for it, counted per consumer. And the check against near misses: the solution with one
rule of the exercise broken fails at the step that proves that rule."""

from __future__ import annotations

import json
import random
import uuid

import pytest

from edalab import bootstrap, labs
from edalab.check_run import run_check
from edalab.waiting import wait_for
from support import deploy_lab, deploy_near_miss


@pytest.fixture(scope="module")
def routing(lab_engine):
    lab = labs.find("03")
    deploy_lab(lab, lab_engine.endpoint, solution=True)
    return lab_engine, bootstrap.stack_outputs(lab.stack.name, lab_engine.endpoint)


def drain(engine, url, run, expected):
    sqs, got = engine.client("sqs"), {}

    def poll():
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            if run in m["Body"]:
                got[m["MessageId"]] = json.loads(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return len(got)

    wait_for(poll, what=f"{expected} messages on {url}", timeout=30, until=lambda n: n >= expected)
    poll()
    return list(got.values())


def test_a_mixed_stream_reaches_exactly_its_consumers(routing):
    engine, out = routing
    rng = random.Random(7)
    run = f"run-{uuid.uuid4().hex[:8]}"
    orders = [{"id": f"o{i}", "run": run, "event_type": rng.choice(["order_placed", "order_cancelled"]),
               "country": rng.choice(["DE", "FR", "NL", "US", "JP"]), "total": rng.choice([5, 99.99, 100, 250])}
              for i in range(60)]
    shop = [{"source": rng.choice(["shop.orders", "shop.returns"]), "type": rng.choice(["OrderShipped", "OrderPlaced"]),
             "detail": {"id": f"e{i}", "run": run, "customer": {"tier": rng.choice(["gold", "silver"])},
                        "total": rng.choice([100, 499, 500, 900])}} for i in range(40)]

    sns, events = engine.client("sns"), engine.client("events")
    for o in orders:
        sns.publish(TopicArn=out["TopicArn"], Message=json.dumps(o), MessageAttributes={
            "event_type": {"DataType": "String", "StringValue": o["event_type"]},
            "country": {"DataType": "String", "StringValue": o["country"]}})
    for start in range(0, len(shop), 10):
        events.put_events(Entries=[{"EventBusName": out["BusName"], "Source": e["source"], "DetailType": e["type"],
                                    "Detail": json.dumps(e["detail"])} for e in shop[start:start + 10]])

    expected = {
        "billing": {o["id"] for o in orders},
        "shipping": {o["id"] for o in orders if o["event_type"] == "order_placed" and o["country"] in ("DE", "FR", "NL")},
        "priority": {o["id"] for o in orders if o["total"] >= 100},
        "shipments": {e["detail"]["id"] for e in shop if e["source"] == "shop.orders" and e["type"] == "OrderShipped"},
        "vip": {e["detail"]["id"] for e in shop if e["source"] == "shop.orders"
                and e["detail"]["customer"]["tier"] == "gold" and e["detail"]["total"] >= 500},
    }
    received = {
        "billing": {m["id"] for m in drain(engine, out["BillingQueueUrl"], run, len(expected["billing"]))},
        "shipping": {json.loads(m["Message"])["id"]
                     for m in drain(engine, out["ShippingQueueUrl"], run, len(expected["shipping"]))},
        "priority": {m["id"] for m in drain(engine, out["PriorityQueueUrl"], run, len(expected["priority"]))},
        "shipments": {m["detail"]["id"] for m in drain(engine, out["ShipmentsQueueUrl"], run, len(expected["shipments"]))},
        "vip": {m["detail"]["id"] for m in drain(engine, out["VipQueueUrl"], run, len(expected["vip"]))},
    }
    counts = {name: (len(received[name]), len(expected[name])) for name in expected}
    print("received/expected per consumer:", counts)
    assert received == expected

    def audited():
        items = engine.client("dynamodb").scan(TableName=out["AuditTable"])["Items"]
        return [i for i in items if run in i["body"]["S"]]

    audit = wait_for(audited, what="the audit function to see every order and shipment",
                     until=lambda items: len(items) >= len(expected["billing"]) + len(expected["shipments"]))
    assert len(audit) == len(expected["billing"]) + len(expected["shipments"])


POLICY = "labs/03-routing/exercise/priority-filter-policy.json"
PATTERN = "labs/03-routing/exercise/vip-event-pattern.json"
PRIORITY_STEP, VIP_STEP = "Priority gets exactly", "The VIP rule routes"
# one rule of the exercise broken -> (the file, the edit, the step that must fail, words of the rule it must name)
NEAR_MISSES = {
    "policy excludes 100 itself": (POLICY, ('">="', '">"'), PRIORITY_STEP, ["o6 (", "100 itself counts"]),
    "policy also filters on event_type": (
        POLICY, ('"total"', '"event_type": ["order_placed"], "total"'), PRIORITY_STEP,
        ["o4 (order_cancelled", "whatever its event_type"]),
    "pattern without source": (PATTERN, ('"source": ["shop.orders"],', ""), VIP_STEP,
                               ["should not get e4 (shop.returns", "from shop.orders"]),
    "pattern limited to one detail-type": (
        PATTERN, ('"source": ["shop.orders"],', '"source": ["shop.orders"], "detail-type": ["OrderShipped"],'),
        VIP_STEP, ["missed e3 (shop.orders, OrderPlaced", "whatever their detail-type"]),
    "pattern excludes 500 itself": (PATTERN, ('">="', '">"'), VIP_STEP, ["missed e6 (", "500 itself counts"]),
    "pattern without the tier": (PATTERN, ('"customer": {"tier": ["gold"]},', ""), VIP_STEP,
                                 ["should not get e2 (shop.orders, OrderShipped, tier silver", "tier is gold"]),
}


@pytest.mark.parametrize("near_miss", sorted(NEAR_MISSES))
def test_the_check_fails_a_near_miss_at_the_rule_it_breaks(routing, tmp_path, near_miss):
    """Each rule of the exercise, broken alone in the reference solution, fails the check at the
    step that proves it, naming the order or event and the rule; the other exercise step, which
    does not build on it, still runs and passes."""
    engine, _ = routing
    lab = labs.find("03")
    rel, edit, failing_step, named = NEAR_MISSES[near_miss]
    deploy_near_miss(lab, engine.endpoint, tmp_path, {rel: [edit]})
    try:
        report = run_check(lab, engine.endpoint)
    finally:
        deploy_lab(lab, engine.endpoint, solution=True)
    failed = [r for r in report.results if r.status == "failed"]
    assert [r.title for r in failed] == [next(r.title for r in report.results if r.title.startswith(failing_step))]
    for words in named:
        assert words in failed[0].message, failed[0].message
    assert failed[0].hint in (2, 3)  # the hint on filter policies or on patterns, not "where is the exercise"
    other = VIP_STEP if failing_step == PRIORITY_STEP else PRIORITY_STEP
    assert next(r for r in report.results if r.title.startswith(other)).status == "passed"
    assert report.cleanup_problems == []

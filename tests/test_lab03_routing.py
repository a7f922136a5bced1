"""Lab 03 with the reference solution: a generated mixed stream reaches exactly the consumers
meant for it, counted per consumer."""

from __future__ import annotations

import json
import random
import uuid

import pytest

from edalab import bootstrap, labs
from edalab.waiting import wait_for
from support import deploy_lab


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

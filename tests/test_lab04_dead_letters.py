"""Lab 04 with the reference solution: every kind of poison order is dead-lettered after
exactly 3 receives with a logged reason, good orders are processed once, an order over
256 KB is refused at the door, and after the fix a redrive processes every order exactly
once. (The alarm, its email and the on-failure destination are proven by the lab's check,
run both ways in test_labs.py.)"""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from edalab import bootstrap, labs
from edalab.checks import json_log_lines
from edalab.waiting import wait_for
from support import deploy_lab, queue_depth


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

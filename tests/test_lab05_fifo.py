"""Lab 05 with the reference solution under concurrency: several producers, many message
groups; per-group order holds for every group and duplicates inside the window are dropped.
The same workload on a standard queue is measured for contrast and printed, not asserted."""

from __future__ import annotations

import json
import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from edalab import bootstrap, labs
from edalab.waiting import wait_for
from support import deploy_lab

PRODUCERS, CUSTOMERS_PER_PRODUCER, EVENTS = 4, 10, 8


@pytest.fixture(scope="module")
def fifo(lab_engine):
    lab = labs.find("05")
    deploy_lab(lab, lab_engine.endpoint, solution=True)
    return lab_engine, bootstrap.stack_outputs(lab.stack.name, lab_engine.endpoint)


def test_per_group_order_holds_and_duplicates_are_dropped_under_concurrency(fifo):
    engine, out = fifo
    run = f"run{uuid.uuid4().hex[:6]}"
    lam = engine.client("lambda")

    def producer(p: int) -> int:
        rng = random.Random(p)
        customers = [f"{run}-p{p}-c{n}" for n in range(CUSTOMERS_PER_PRODUCER)]
        next_seq = dict.fromkeys(customers, 1)
        events, sent = [], 0
        while any(seq <= EVENTS for seq in next_seq.values()):
            customer = rng.choice([c for c, seq in next_seq.items() if seq <= EVENTS])
            event = {"customer": customer, "seq": next_seq[customer]}
            events.append(event)
            if rng.random() < 0.2:
                events.append(dict(event))  # a retry of the same event
            next_seq[customer] += 1
        for start in range(0, len(events), 20):
            reply = lam.invoke(FunctionName=out["ProducerName"], Payload=json.dumps({"events": events[start:start + 20]}))
            assert "FunctionError" not in reply
            sent += json.loads(reply["Payload"].read())["published"]
        return sent

    with ThreadPoolExecutor(PRODUCERS) as pool:
        sent = sum(pool.map(producer, range(PRODUCERS)))
    groups = PRODUCERS * CUSTOMERS_PER_PRODUCER
    assert sent > groups * EVENTS  # retries were really sent

    def logged():
        # moto applies an update's actions one by one, so a scan may meet an item whose
        # update is half done (no `seqs` yet); such an item counts as not logged yet
        items = engine.client("dynamodb").scan(TableName=out["LogTable"])["Items"]
        return {i["customer"]["S"]: [int(n["N"]) for n in i["seqs"]["L"]]
                for i in items if i["customer"]["S"].startswith(run) and "seqs" in i}

    log = wait_for(logged, what="every group's events", timeout=90,
                   until=lambda log: len(log) == groups and all(len(s) >= EVENTS for s in log.values()))
    assert log == {customer: list(range(1, EVENTS + 1)) for customer in log}


def test_the_same_workload_on_a_standard_queue_for_contrast(fifo):
    """Not asserted: a standard queue promises no order. Printed so a reader can see it."""
    engine, out = fifo
    sqs, url = engine.client("sqs"), out["StandardQueueUrl"]
    run = uuid.uuid4().hex[:6]

    def send(p):
        for seq in range(1, 21):
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"run": run, "customer": f"c{p}", "seq": seq}))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, range(4)))
    seen: dict[str, list[int]] = {}

    def receive():
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            body = json.loads(m["Body"])
            if body.get("run") == run:
                seen.setdefault(body["customer"], []).append(body["seq"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return sum(map(len, seen.values()))

    wait_for(receive, what="the standard queue's 80 messages", until=lambda n: n >= 80)
    reordered = sum(1 for seqs in seen.values() for a, b in zip(seqs, seqs[1:]) if b < a)
    print(f"standard queue: {reordered} out-of-order deliveries among 80 messages of 4 customers")

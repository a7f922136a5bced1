"""Lab 05 with the reference solution under concurrency: several producers, many message
groups; per-group order holds for every group and duplicates inside the window are dropped.
The same workload on a standard queue is measured for contrast and printed, not asserted.
And the check against near misses: the producer with one rule of the exercise broken fails at
the step that proves that rule."""

from __future__ import annotations

import json
import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from edalab import bootstrap, labs
from edalab.waiting import wait_for
from support import assert_near_miss_fails, deploy_lab

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


def test_a_malformed_event_goes_to_the_dead_letter_queue_and_unblocks_its_group(fifo):
    """A poison event must not block its customer forever, nor be lost: after 3 receives it is
    in the FIFO dead-letter queue, other customers are never held up, and the customer's later
    events are handled again. An event that came back in the poison's batch each time may go
    to the DLQ with it (as on AWS): each event is then either logged or dead-lettered."""
    engine, out = fifo
    run = f"run{uuid.uuid4().hex[:6]}"
    blocked, other = f"{run}-blocked", f"{run}-other"
    sns, sqs = engine.client("sns"), engine.client("sqs")

    def publish(body: str, group: str, dedup: str) -> None:
        sns.publish(TopicArn=out["TopicArn"], Message=body, MessageGroupId=group, MessageDeduplicationId=dedup)

    def logged():
        items = engine.client("dynamodb").scan(TableName=out["LogTable"])["Items"]
        return {i["customer"]["S"]: [int(n["N"]) for n in i["seqs"]["L"]]
                for i in items if i["customer"]["S"].startswith(run) and "seqs" in i}

    dead: dict[str, str] = {}

    def dead_letters():
        for m in sqs.receive_message(QueueUrl=out["FulfilmentDeadLetterQueueUrl"], MaxNumberOfMessages=10,
                                     VisibilityTimeout=0, AttributeNames=["All"]).get("Messages", []):
            if run in m["Body"] or "not an order event" in m["Body"]:
                dead[m["MessageId"]] = m["Body"]
        return list(dead.values())

    publish(json.dumps({"customer": blocked, "seq": 1}), blocked, f"{blocked}-1")
    publish("{this is not an order event " + run, blocked, f"{blocked}-poison")
    publish(json.dumps({"customer": blocked, "seq": 2}), blocked, f"{blocked}-2")
    publish(json.dumps({"customer": other, "seq": 1}), other, f"{other}-1")

    wait_for(dead_letters, what="the poison event in the FIFO dead-letter queue", timeout=60,
             until=lambda bodies: any(f"not an order event {run}" in b for b in bodies))
    publish(json.dumps({"customer": blocked, "seq": 3}), blocked, f"{blocked}-3")
    log = wait_for(logged, what="the blocked customer's next event to be handled", timeout=30,
                   until=lambda log: 3 in log.get(blocked, []))

    assert log[other] == [1]
    dead_seqs = [json.loads(b)["seq"] for b in dead_letters() if b.startswith("{\"")]
    handled = log[blocked]
    assert handled == sorted(handled) and handled[0] == 1 and handled[-1] == 3
    assert sorted(handled + dead_seqs) == [1, 2, 3]  # every event handled or dead-lettered, once


PRODUCER = "handlers/order_producer/app.py"
GROUP, DEDUP = 'return event["customer"]', "return f\"{event['customer']}:{event['seq']}\""
# one rule of the exercise broken -> (the edit, the step that must fail, words of the rule it must name, its hint)
NEAR_MISSES = {
    "one group for everyone": ((GROUP, 'return "everyone"'), "Each customer is its own message group",
                               ["'everyone'", "group_id should return the customer"], 1),
    "a group per event": ((GROUP, "return f\"{event['customer']}-{event['seq']}\""),
                          "Each customer is its own message group", ["-c0's events came in 6 message groups", "share one group"], 1),
    "a random deduplication id": ((DEDUP, "import uuid; return str(uuid.uuid4())"), "The retried event was delivered once",
                                  ["delivered 2 times", "not random"], 2),
    "a hash of the whole event as deduplication id": ((DEDUP, "import hashlib; return hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()"),
                                            "The retried event was delivered once", ["not the attempt"], 2),
    "the customer alone as deduplication id": ((DEDUP, "return event['customer']"),
                                               "Fulfilment receives every customer's events",
                                               ["-c1: events 2, 3, 4, 5 (got 1)", "customer AND the sequence number"], 2),
    "the sequence number alone as deduplication id": ((DEDUP, "return str(event['seq'])"),
                                                      "Fulfilment receives every customer's events",
                                                      ["-c3: events 1, 2, 3, 4, 5 (got none)",
                                                       "customer AND the sequence number"], 2),
}


@pytest.mark.parametrize("near_miss", sorted(NEAR_MISSES))
def test_the_check_fails_a_near_miss_at_the_rule_it_breaks(fifo, tmp_path, near_miss):
    """Each rule of the exercise, broken alone in the reference producer, fails the check at the
    step that proves it, naming the customer and the rule, with the hint on that rule; a lost
    event fails as soon as the queue is empty, not after the whole wait."""
    engine, _ = fifo
    lab = labs.find("05")
    edit, failing_step, named, hint = NEAR_MISSES[near_miss]
    try:
        report = assert_near_miss_fails(lab, engine.endpoint, tmp_path, {PRODUCER: [edit]}, failing_step, named, hint)
    finally:
        deploy_lab(lab, engine.endpoint, solution=True)
    assert not report.first_failure.message.startswith("waited")  # it failed once the outcome was certain, not at the deadline

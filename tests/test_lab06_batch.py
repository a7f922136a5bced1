"""Lab 06 with the reference solution: with transient failures and duplicate deliveries,
every payment's side effect happens exactly once; invocations per 1,000 messages are
reported for batch sizes 1, 10 and 100."""

from __future__ import annotations

import json
import uuid

import pytest

from edalab import bootstrap, labs
from edalab.waiting import wait_for
from support import FAST_PARAMETERS, create_queue, deploy_lab, queue_depth


@pytest.fixture(scope="module")
def payments(lab_engine):
    lab = labs.find("06")
    deploy_lab(lab, lab_engine.endpoint, solution=True)
    return lab_engine, bootstrap.stack_outputs(lab.stack.name, lab_engine.endpoint)


def send(engine, url, bodies):
    sqs = engine.client("sqs")
    for start in range(0, len(bodies), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": json.dumps(b)}
                                                      for n, b in enumerate(bodies[start:start + 10])])


def ledger(engine, table, prefix):
    items, kwargs = [], {}
    while True:
        page = engine.client("dynamodb").scan(TableName=table, **kwargs)
        items += [i for i in page["Items"] if i["payment_id"]["S"].startswith(prefix)]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def test_transient_failures_and_duplicates_still_charge_each_payment_once(payments):
    engine, out = payments
    run = uuid.uuid4().hex[:6]
    ids = [f"{run}-p{n}" for n in range(100)]
    bodies = [{"payment_id": p, "amount": n, "flaky": n % 10 == 3} for n, p in enumerate(ids)]
    duplicates = [{"payment_id": p, "amount": n} for n, p in enumerate(ids) if n % 10 == 7]
    send(engine, out["PaymentsQueueUrl"], bodies + duplicates)

    wait_for(lambda: ledger(engine, out["LedgerTable"], run), what="a charge for every payment", timeout=90,
             until=lambda items: len(items) == len(ids))
    wait_for(lambda: queue_depth(engine.client("sqs"), out["PaymentsQueueUrl"]), what="the queue to drain",
             timeout=60, until=lambda depth: depth == 0)
    charges = {i["payment_id"]["S"]: int(i["charges"]["N"]) for i in ledger(engine, out["LedgerTable"], run)}
    assert charges == dict.fromkeys(ids, 1)
    assert queue_depth(engine.client("sqs"), out["DeadLetterQueueUrl"]) == 0


@pytest.mark.parametrize("batch_size", [1, 10, 100])
def test_invocations_per_thousand_messages_by_batch_size(payments, batch_size, record_property):
    """The lab's function on a queue of its own per batch size, so no earlier setting lingers."""
    engine, out = payments
    lam, sqs = engine.client("lambda"), engine.client("sqs")
    run = uuid.uuid4().hex[:6]
    messages = 200
    # a batch of 100 takes seconds here: the lab's timeout (not the tests' short one) applies
    lam.update_function_configuration(FunctionName=out["FunctionName"], Timeout=60)
    wait_for(lambda: lam.get_function(FunctionName=out["FunctionName"])["Configuration"]["LastUpdateStatus"],
             what="the timeout update", until=lambda status: status == "Successful")
    url, arn = create_queue(sqs, f"payments-batch{batch_size}-{run}", VisibilityTimeout=360)
    send(engine, url, [{"payment_id": f"{run}-{n}", "amount": 1} for n in range(messages)])
    mapping = lam.create_event_source_mapping(
        FunctionName=out["FunctionName"], EventSourceArn=arn, BatchSize=batch_size,
        MaximumBatchingWindowInSeconds=1, FunctionResponseTypes=["ReportBatchItemFailures"],
    )["UUID"]
    try:
        items = wait_for(lambda: ledger(engine, out["LedgerTable"], run), what=f"{messages} charges",
                         timeout=120, until=lambda items: len(items) == messages)
    finally:
        lam.delete_event_source_mapping(UUID=mapping)
        lam.update_function_configuration(FunctionName=out["FunctionName"],
                                          Timeout=int(FAST_PARAMETERS[labs.find("06").stack.name]["FunctionTimeout"]))
    invocations = len({i["last_request"]["S"] for i in items})
    per_thousand = round(invocations * 1000 / messages)
    print(f"batch size {batch_size}: {invocations} invocations for {messages} messages = {per_thousand} per 1,000")
    record_property("invocations_per_1000", per_thousand)
    assert all(int(i["charges"]["N"]) == 1 for i in items)
    assert invocations >= messages / batch_size  # no invocation carried more than a batch
    if batch_size == 1:
        assert invocations == messages
    else:
        assert invocations < messages  # batching really happened

"""Bad input in the labs that route and batch (03, 05, 06): a message over 256 KB is refused
at the door with a reason, and a malformed or mistyped message ends where the lab says —
delivered only to the consumers that do not filter on what it lacks (03), or in the
dead-letter queue after its receives with a logged reason (06) — never lost, never retried
forever. Labs 01, 02 and 04 test their own bad input next to their flows; lab 05's malformed
event is in test_lab05_fifo.py."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from edalab import bootstrap, labs
from edalab.checks import json_log_lines
from edalab.waiting import wait_for
from support import deploy_lab, queue_depth, receive_all

OVER_256_KB = "x" * (256 * 1024 + 1)


def outputs(engine, lab_id, solution=True):
    lab = labs.find(lab_id)
    deploy_lab(lab, engine.endpoint, solution=solution)
    return bootstrap.stack_outputs(lab.stack.name, engine.endpoint)


def test_lab03_oversized_notifications_and_events_are_refused(lab_engine):
    out = outputs(lab_engine, "03")
    with pytest.raises(ClientError) as refused:
        lab_engine.client("sns").publish(TopicArn=out["TopicArn"], Message=OVER_256_KB)
    assert "too long" in str(refused.value).lower()
    with pytest.raises(ClientError) as refused:  # the whole request is refused, as on AWS
        lab_engine.client("events").put_events(Entries=[{
            "EventBusName": out["BusName"], "Source": "edalab.shop", "DetailType": "OrderPlaced",
            "Detail": json.dumps({"pad": OVER_256_KB})}])
    assert "over the limit" in str(refused.value)


def test_lab03_a_malformed_order_reaches_only_the_consumers_that_do_not_filter_on_it(lab_engine):
    out = outputs(lab_engine, "03")
    sqs, run = lab_engine.client("sqs"), uuid.uuid4().hex[:8]
    body = f'{{"order_id": "{run}", "total": "lots"'  # not JSON, and no message attributes
    lab_engine.client("sns").publish(TopicArn=out["TopicArn"], Message=body)

    billing = receive_all(sqs, out["BillingQueueUrl"], 1)  # unfiltered, raw delivery
    assert [m["Body"] for m in billing if run in m["Body"]] == [body]
    audit = lab_engine.client("dynamodb")
    wait_for(lambda: [i for i in audit.scan(TableName=out["AuditTable"])["Items"] if run in i["body"]["S"]],
             what="the audit function's record of the malformed order", timeout=20)
    # the attribute filter (shipping) and the body filter (priority) cannot match it: not delivered
    for url in (out["ShippingQueueUrl"], out["PriorityQueueUrl"]):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        assert not [m for m in messages if run in m["Body"]]


def test_lab05_an_oversized_event_is_refused_by_the_fifo_topic(lab_engine):
    out = outputs(lab_engine, "05")
    with pytest.raises(ClientError) as refused:
        lab_engine.client("sns").publish(TopicArn=out["TopicArn"], Message=OVER_256_KB,
                                         MessageGroupId="c1", MessageDeduplicationId=uuid.uuid4().hex)
    assert "too long" in str(refused.value).lower()


def test_lab06_an_oversized_payment_is_refused_by_the_queue(lab_engine):
    out = outputs(lab_engine, "06")
    with pytest.raises(ClientError) as refused:
        lab_engine.client("sqs").send_message(QueueUrl=out["PaymentsQueueUrl"], MessageBody=OVER_256_KB)
    assert "262144" in str(refused.value) or "too long" in str(refused.value).lower()


def test_lab06_malformed_payments_are_dead_lettered_with_a_reason_and_their_batch_mates_charged_once(lab_engine):
    out = outputs(lab_engine, "06")
    sqs, ddb, run = lab_engine.client("sqs"), lab_engine.client("dynamodb"), uuid.uuid4().hex[:6]
    bad = {"not JSON": f'{{"payment_id": "{run}-a"', "no id": json.dumps({"amount": 3, "note": run}),
           "amount as text": json.dumps({"payment_id": f"{run}-b", "amount": "ten"}),
           "amount as boolean": json.dumps({"payment_id": f"{run}-c", "amount": True})}
    good = [f"{run}-ok-{n}" for n in range(6)]
    entries = [{"Id": f"bad{n}", "MessageBody": body} for n, body in enumerate(bad.values())]
    entries += [{"Id": f"ok{n}", "MessageBody": json.dumps({"payment_id": p, "amount": 5})} for n, p in enumerate(good)]
    sqs.send_message_batch(QueueUrl=out["PaymentsQueueUrl"], Entries=entries)

    dead = receive_all(sqs, out["DeadLetterQueueUrl"], len(bad), timeout=90)
    assert sorted(m["Body"] for m in dead) == sorted(bad.values())
    ledger = ddb.batch_get_item(RequestItems={out["LedgerTable"]: {
        "Keys": [{"payment_id": {"S": p}} for p in good]}})["Responses"][out["LedgerTable"]]
    assert {i["payment_id"]["S"]: int(i["charges"]["N"]) for i in ledger} == dict.fromkeys(good, 1)
    assert queue_depth(sqs, out["PaymentsQueueUrl"]) == 0

    reasons = [line["reason"] for line in json_log_lines(lab_engine.client("logs"), out["FunctionName"])
               if line.get("message") == "payment rejected" and run in line.get("body", "")]
    assert any("not JSON" in r for r in reasons) and any("'amount'" in r for r in reasons)
    assert any("'payment_id'" in r for r in reasons)

"""Lab 06 check: a failing record does not send its batch mates back, and a payment
delivered twice is charged once."""

import json
import uuid

from edalab.checks import CheckFailed, step


def _visibility(ctx):
    attrs = ctx.client("sqs").get_queue_attributes(QueueUrl=ctx.outputs["PaymentsQueueUrl"],
                                                   AttributeNames=["VisibilityTimeout"])["Attributes"]
    return int(attrs["VisibilityTimeout"])


def _charges(ctx):
    ddb = ctx.client("dynamodb")
    keys = [{"payment_id": {"S": p}} for p in ctx.payments]
    items = ddb.batch_get_item(RequestItems={ctx.outputs["LedgerTable"]: {"Keys": keys}})["Responses"]
    return {i["payment_id"]["S"]: int(i["charges"]["N"]) for i in items[ctx.outputs["LedgerTable"]]}


def _queue_idle(ctx):
    attrs = ctx.client("sqs").get_queue_attributes(
        QueueUrl=ctx.outputs["PaymentsQueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"]) == 0


@step("The batch stack is deployed")
def deployed(ctx):
    run = uuid.uuid4().hex[:6]
    ctx.payments = [f"{run}-p{n}" for n in range(10)]
    ctx.outputs  # noqa: B018 - fails with a clear message when the stack is missing


@step("A batch of 10 payments is sent; one of them fails once (a transient error)")
def send(ctx):
    entries = [{"Id": str(n), "MessageBody": json.dumps({"payment_id": p, "amount": 10 + n, "flaky": n == 3})}
               for n, p in enumerate(ctx.payments)]
    ctx.client("sqs").send_message_batch(QueueUrl=ctx.outputs["PaymentsQueueUrl"], Entries=entries)


@step("Every payment is charged, the failed one after its retry")
def all_charged(ctx):
    ctx.wait_for(lambda: _charges(ctx), what="a charge for each of the 10 payments",
                 timeout=20 + 3 * _visibility(ctx), until=lambda charges: len(charges) == len(ctx.payments))
    ctx.wait_for(lambda: _queue_idle(ctx), what="the payments queue to be empty", timeout=20 + 3 * _visibility(ctx))


@step("Only the failed record was retried: every payment was charged exactly once", hint=1)
def charged_once(ctx):
    doubled = {p: n for p, n in _charges(ctx).items() if n != 1}
    if doubled:
        raise CheckFailed(f"charged more than once: {doubled}. When one record failed, the whole batch came back; "
                          "report only the failed record in batchItemFailures")


@step("A payment delivered twice is charged once (idempotency)", hint=3)
def idempotent(ctx):
    again = ctx.payments[0]
    ctx.client("sqs").send_message(QueueUrl=ctx.outputs["PaymentsQueueUrl"],
                                   MessageBody=json.dumps({"payment_id": again, "amount": 10}))
    ctx.wait_for(lambda: _queue_idle(ctx), what="the duplicate to be processed", timeout=20 + 3 * _visibility(ctx))
    charges = _charges(ctx)[again]
    if charges != 1:
        raise CheckFailed(f"{again} was delivered twice and charged {charges} times: "
                          "make charging idempotent on payment_id")

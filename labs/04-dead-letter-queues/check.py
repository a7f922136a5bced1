"""Lab 04 check: a poison order is dead-lettered after exactly 3 receives, the DLQ alarm emails
the on-call inbox, and after the fix a redrive processes every order exactly once. A receipt
that cannot be sent ends on the on-failure destination of its asynchronous invoke.

It plays an incident with a product the catalog does not know yet (a fresh one per run): its
order fails until the check adds the product to the catalog (the fix), then your redrive
function must bring it back. With the lab's 60 s visibility timeout it takes about 4 minutes.
"""

import json
import time
import uuid

from edalab import mail
from edalab.checks import CheckFailed, json_log_lines, step

ALERT_INBOX = "oncall@edalab.local"


def _attrs(ctx, url, *names):
    return ctx.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=list(names)).get("Attributes", {})


def _depth(ctx, url):
    attrs = _attrs(ctx, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _visibility(ctx):
    return int(_attrs(ctx, ctx.outputs["OrdersQueueUrl"], "VisibilityTimeout")["VisibilityTimeout"])


def _times_processed(ctx, order_ids):
    table = ctx.outputs["OrdersTable"]
    found = ctx.client("dynamodb").batch_get_item(
        RequestItems={table: {"Keys": [{"order_id": {"S": o}} for o in order_ids], "ConsistentRead": True}}
    )["Responses"][table]
    return {i["order_id"]["S"]: int(i["times_processed"]["N"]) for i in found if "times_processed" in i}


def _rejections(ctx, order_id):
    """How many times the processor logged this order as rejected (one JSON line per receive)."""
    return sum(line.get("message") == "order rejected" and line.get("order_id") == order_id
               for line in json_log_lines(ctx.client("logs"), ctx.outputs["ProcessorName"]))


def _alarm_state(ctx):
    alarms = ctx.client("cloudwatch").describe_alarms(AlarmNames=[ctx.outputs["AlarmName"]])["MetricAlarms"]
    return alarms[0]["StateValue"] if alarms else "MISSING"


def _order(order_id, sku, qty=1):
    return json.dumps({"order_id": order_id, "customer": "Check", "items": [{"sku": sku, "qty": qty}]})


@step("The orders queue sends an order to edalab-orders-dlq after 3 receives", hint=1)
def redrive_policy(ctx):
    run = uuid.uuid4().hex[:6]
    ctx.run, ctx.started = run, time.time()
    ctx.good = [f"{run}-good-{n}" for n in range(3)]
    ctx.poison = f"{run}-poison"
    ctx.new_product = f"lamp-{run}"  # not in the catalog until the check "fixes" it
    raw = _attrs(ctx, ctx.outputs["OrdersQueueUrl"], "RedrivePolicy").get("RedrivePolicy")
    if not raw:
        raise CheckFailed("edalab-orders has no redrive policy, so a poison order would be retried until it "
                          "expires: fill in labs/04-dead-letter-queues/exercise/redrive-policy.json and "
                          "`make deploy LAB=04`")
    policy = json.loads(raw)
    if policy.get("deadLetterTargetArn") != ctx.outputs["DeadLetterQueueArn"]:
        raise CheckFailed(f"the redrive policy points at {policy.get('deadLetterTargetArn')!r}, not at "
                          f"edalab-orders-dlq ({ctx.outputs['DeadLetterQueueArn']})")
    if int(policy.get("maxReceiveCount", 0)) != 3:
        raise CheckFailed(f"maxReceiveCount is {policy.get('maxReceiveCount')}; the lab asks for 3 receives")


@step("The DLQ starts empty and its alarm is not firing")
def clean_start(ctx):
    waiting = _depth(ctx, ctx.outputs["DeadLetterQueueUrl"])
    if waiting:
        raise CheckFailed(f"edalab-orders-dlq already holds {waiting} message(s); look at them (step 3 of the "
                          "README), then redrive them (step 5) or purge the DLQ, and run the check again")
    # An alarm already in ALARM would send no new email; it returns to OK a few periods after
    # the DLQ empties (LocalStack looks back over three periods, AWS over one).
    period = ctx.client("cloudwatch").describe_alarms(AlarmNames=[ctx.outputs["AlarmName"]])["MetricAlarms"][0]["Period"]
    ctx.wait_for(lambda: _alarm_state(ctx), what=f"alarm {ctx.outputs['AlarmName']} to leave ALARM (it was "
                 "firing from an earlier run)", timeout=30 + 4 * period, until=lambda state: state != "ALARM")


@step("Good orders are processed exactly once")
def good_orders(ctx):
    sqs = ctx.client("sqs")
    for n, order_id in enumerate(ctx.good):
        sqs.send_message(QueueUrl=ctx.outputs["OrdersQueueUrl"], MessageBody=_order(order_id, "lamp", n + 1))
    ctx.wait_for(lambda: _times_processed(ctx, ctx.good), what="the 3 good orders in edalab-orders", timeout=60,
                 until=lambda seen: len(seen) == len(ctx.good))
    doubled = {o: n for o, n in _times_processed(ctx, ctx.good).items() if n != 1}
    if doubled:
        raise CheckFailed(f"processed more than once: {doubled}")


@step("A poison order is in the DLQ after exactly 3 receives", hint=2)
def poison_dead_lettered(ctx):
    sqs = ctx.client("sqs")
    sqs.send_message(QueueUrl=ctx.outputs["OrdersQueueUrl"], MessageBody=_order(ctx.poison, ctx.new_product))
    ctx.wait_for(lambda: _depth(ctx, ctx.outputs["DeadLetterQueueUrl"]),
                 what=f"order {ctx.poison} (product {ctx.new_product}, not in the catalog) in edalab-orders-dlq",
                 timeout=30 + 4 * _visibility(ctx), until=lambda depth: depth >= 1)
    receives = ctx.wait_for(lambda: _rejections(ctx, ctx.poison), what="the processor's log lines",
                            timeout=15, until=lambda n: n >= 3)
    if receives != 3:
        raise CheckFailed(f"the processor rejected {ctx.poison} {receives} times before it reached the DLQ; "
                          "maxReceiveCount 3 means exactly 3")


@step("The DLQ alarm goes to ALARM and its email reaches the on-call inbox", hint=3)
def alarm_email(ctx):
    alarm = ctx.outputs["AlarmName"]
    period = ctx.client("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["Period"]
    ctx.wait_for(lambda: _alarm_state(ctx), what=f"alarm {alarm} in state ALARM", timeout=30 + 2 * period,
                 until=lambda state: state == "ALARM")

    def alerts():
        return [m for m in mail.read_inbox(ctx.endpoint) if ALERT_INBOX in m.to and alarm in m.body
                and '"NewStateValue":"ALARM"' in m.body.replace(" ", "") and m.received >= ctx.started - 1]

    ctx.wait_for(alerts, what=f"an email to {ALERT_INBOX} about {alarm} going to ALARM (see `make mail`)",
                 timeout=30)


@step("After the fix, your redrive brings the order back and every order is processed once", hint=4)
def redrive(ctx):
    # The fix: the catalog team adds the new product. Now the poison order can be priced.
    ctx.client("dynamodb").put_item(TableName=ctx.outputs["CatalogTable"],
                                    Item={"sku": {"S": ctx.new_product}, "price": {"N": "19.99"}})
    reply = ctx.client("lambda").invoke(FunctionName=ctx.outputs["RedriveName"], Payload=b"{}")
    answer = json.loads(reply["Payload"].read() or b"null")
    if reply.get("FunctionError"):
        raise CheckFailed(f"{ctx.outputs['RedriveName']} failed: {answer.get('errorMessage') if answer else answer}")
    if not isinstance(answer, dict) or not answer.get("task_handle"):
        raise CheckFailed(f"{ctx.outputs['RedriveName']} answered {answer!r}; return the move task's handle "
                          "as {\"task_handle\": ...}")
    ctx.wait_for(lambda: _depth(ctx, ctx.outputs["DeadLetterQueueUrl"]), what="edalab-orders-dlq to empty",
                 timeout=60, until=lambda depth: depth == 0)
    everyone = [*ctx.good, ctx.poison]
    ctx.wait_for(lambda: _times_processed(ctx, everyone), what=f"order {ctx.poison} processed after the redrive",
                 timeout=60, until=lambda seen: ctx.poison in seen)
    ctx.wait_for(lambda: _depth(ctx, ctx.outputs["OrdersQueueUrl"]), what="edalab-orders to empty",
                 timeout=30 + 2 * _visibility(ctx), until=lambda depth: depth == 0)
    counts = _times_processed(ctx, everyone)
    if counts != dict.fromkeys(everyone, 1):
        raise CheckFailed(f"times each order was processed: {counts}; every order should be processed once")


@step("A receipt that cannot be sent ends on the on-failure destination, after its retries")
def on_failure_destination(ctx):
    order_id = f"{ctx.run}-no-email"
    ctx.client("lambda").invoke(FunctionName=ctx.outputs["ReceiptName"], InvocationType="Event",
                                Payload=json.dumps({"order_id": order_id}).encode())
    sqs = ctx.client("sqs")

    def failure_record():
        for message in sqs.receive_message(QueueUrl=ctx.outputs["ReceiptFailuresQueueUrl"], MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", []):
            doc = json.loads(message["Body"])
            if doc.get("requestPayload", {}).get("order_id") == order_id:
                sqs.delete_message(QueueUrl=ctx.outputs["ReceiptFailuresQueueUrl"],
                                   ReceiptHandle=message["ReceiptHandle"])
                return doc
        return None

    record = ctx.wait_for(failure_record, what=f"the failed receipt of {order_id} in edalab-order-receipt-failures",
                          timeout=60)
    condition = record.get("requestContext", {}).get("condition")
    if condition != "RetriesExhausted":
        raise CheckFailed(f"the failure record says {condition!r}, expected RetriesExhausted")

"""Lab 04 check: a poison order is dead-lettered after exactly 3 receives, the DLQ alarm emails
the on-call inbox, and after the fix your redrive brings every dead-lettered order back so each
is processed once; the alarm then returns to OK and says so. A receipt that cannot be sent ends
on the on-failure destination of its asynchronous invoke, after its retries.

It plays an incident with a product the catalog does not know yet (a fresh one per run): its
orders fail until the check adds the product to the catalog (the fix), then your redrive
function must bring them back.

While its poison orders are retried the check sets the orders queue's visibility timeout to
3 s (the lab's is 60 s), so a failed order is offered again after 3 s instead of a minute; what
it proves does not change (exactly 3 receives, then the DLQ). Its good orders and the redrive run
with the lab's value, so a slow batch that succeeds is never offered twice; the lab's value is
back at the end, pass or fail. The alarm needs no change: the lab deploys it with a 10 s period
(see the template).
The check removes what it made: its orders (items and messages), the catalog product, the
failed receipt's record, and the alarm emails it caused, never an email from before it ran.
"""

import json
import time
import uuid
from datetime import datetime

from edalab import mail
from edalab.checks import CheckFailed, json_log_lines, step

ALERT_INBOX = "oncall@edalab.local"
CHECK_VISIBILITY = 3  # seconds a failed order stays hidden during the check (the lab's: 60)
POISON_ORDERS = 2  # "move every message": the redrive must bring back more than one
# errors this check causes on purpose (its poison orders, its receipt that cannot be sent): not
# shown as the cause when a step fails
EXPECTED_ERRORS = ("PoisonOrder", "CannotSendReceipt")


def _attrs(ctx, url, *names):
    return ctx.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=list(names)).get("Attributes", {})


def _queue_messages(ctx, url) -> list[dict]:
    """Every message in a queue, visible or in flight, without receiving (so hiding) any.
    Each is {"body", "receives"}."""
    return [{"body": m.body, "receives": m.receives} for m in ctx.queue_messages(url)]


def _holding(ctx, url, order_ids) -> set[str]:
    """Which of these orders have a message in the queue (visible or not)."""
    return {o for o in order_ids for m in _queue_messages(ctx, url) if f'"{o}"' in m["body"]}


def _times_processed(ctx, order_ids):
    table = ctx.output("OrdersTable")
    found = ctx.client("dynamodb").batch_get_item(
        RequestItems={table: {"Keys": [{"order_id": {"S": o}} for o in order_ids], "ConsistentRead": True}}
    )["Responses"][table]
    return {i["order_id"]["S"]: int(i["times_processed"]["N"]) for i in found if "times_processed" in i}


def _rejections(ctx, order_ids) -> dict[str, int]:
    """How many times the processor logged each order as rejected (one JSON line per receive)."""
    counts = dict.fromkeys(order_ids, 0)
    for line in json_log_lines(ctx.client("logs"), ctx.output("ProcessorName")):
        if line.get("message") == "order rejected" and line.get("order_id") in counts:
            counts[line["order_id"]] += 1
    return counts


def _alarm(ctx) -> dict:
    alarms = ctx.client("cloudwatch").describe_alarms(AlarmNames=[ctx.output("AlarmName")])["MetricAlarms"]
    if not alarms:
        raise CheckFailed(f"there is no alarm {ctx.output('AlarmName')}: `make deploy LAB=04` recreates it")
    return alarms[0]


def _changed_at(alert: mail.Mail) -> float:
    """When the alarm changed state, from the email's JSON body (0 when it has none)."""
    try:
        stamp = json.loads(alert.body)["StateChangeTime"]
        return datetime.fromisoformat(stamp.replace("+0000", "+00:00")).timestamp()
    except (ValueError, KeyError, TypeError, AttributeError):
        return 0.0


def _alarm_emails(ctx, since: float, state: str | None = None) -> list[mail.Mail]:
    """The alarm's emails to the on-call inbox about state changes since `since` (optionally
    only those to `state`)."""
    alarm = ctx.output("AlarmName")
    return [m for m in mail.read_inbox(ctx.endpoint)
            if ALERT_INBOX in m.to and alarm in m.body and _changed_at(m) >= since
            and (state is None or f'"NewStateValue":"{state}"' in m.body.replace(" ", ""))]


def _order(order_id, sku, qty=1):
    return json.dumps({"order_id": order_id, "customer": "Check", "items": [{"sku": sku, "qty": qty}]})


def _stack_parameter(ctx, key: str) -> str | None:
    stack = ctx.client("cloudformation").describe_stacks(StackName=ctx.lab.stack.name)["Stacks"][0]
    return next((p["ParameterValue"] for p in stack.get("Parameters", []) if p["ParameterKey"] == key), None)


@step("The orders queue sends an order to edalab-orders-dlq after 3 receives", hint=1)
def redrive_policy(ctx):
    ctx.run = uuid.uuid4().hex[:6]  # names this run's orders and product
    raw = _attrs(ctx, ctx.output("OrdersQueueUrl"), "RedrivePolicy").get("RedrivePolicy")
    if not raw:
        raise CheckFailed("edalab-orders has no redrive policy, so a poison order would be retried until it "
                          "expires: fill in labs/04-dead-letter-queues/exercise/redrive-policy.json and "
                          "`make deploy LAB=04`")
    policy = json.loads(raw)
    if policy.get("deadLetterTargetArn") != ctx.output("DeadLetterQueueArn"):
        raise CheckFailed(f"the redrive policy's deadLetterTargetArn is {policy.get('deadLetterTargetArn')!r}; it "
                          f"must be the DLQ edalab-orders-dlq ({ctx.output('DeadLetterQueueArn')})")
    if int(policy.get("maxReceiveCount", 0)) != 3:
        raise CheckFailed(f"the redrive policy's maxReceiveCount is {policy.get('maxReceiveCount')}; the lab asks for "
                          "exactly 3 receives before an order goes to the DLQ", hint=2)


@step("The DLQ starts empty and its alarm is not firing", hint=4)
def clean_start(ctx):
    waiting = len(_queue_messages(ctx, ctx.output("DeadLetterQueueUrl")))
    if waiting:
        raise CheckFailed(f"edalab-orders-dlq already holds {waiting} message(s) (counting any hidden by a "
                          "receive-message); the check needs it empty to play its own incident: look at them "
                          "(README step 5), then redrive them (step 6) or purge the DLQ, and run the check again")
    # An alarm already in ALARM would send no new email; it returns to OK a few periods after
    # the DLQ empties (LocalStack looks back over three periods, AWS over one).
    period = _alarm(ctx)["Period"]
    ctx.wait_for(lambda: _alarm(ctx)["StateValue"], what=f"alarm {ctx.output('AlarmName')} to leave ALARM (it "
                 "was firing from an earlier incident; its OK email is yours to keep)", timeout=30 + 4 * period,
                 until=lambda state: state != "ALARM")
    # From here on, every state change of the alarm is the check's doing, and so is its email.
    ctx.since = time.time()
    ctx.cleanup(lambda: _remove_alarm_emails(ctx), "the alarm emails the check caused (once the alarm is back to OK)")


def _remove_alarm_emails(ctx):
    alarm = _alarm(ctx)
    if alarm["StateValue"] == "ALARM":  # a check that failed midway: its OK email is still to come
        ctx.wait_for(lambda: _alarm(ctx)["StateValue"], what="the alarm to return to OK, to remove its email",
                     timeout=30 + 4 * alarm["Period"], until=lambda state: state != "ALARM")
        ctx.wait_for(lambda: _alarm_emails(ctx, ctx.since, "OK"), what="the alarm's OK email", timeout=15)
    mail.delete(_alarm_emails(ctx, ctx.since), ctx.endpoint)


@step("Good orders are processed exactly once")
def good_orders(ctx):
    ctx.lab_visibility = _lab_visibility(ctx)
    _put_lab_visibility_back(ctx)  # a check killed midway may have left its 3 s
    good = [f"{ctx.run}-good-{n}" for n in range(3)]
    ctx.cleanup(lambda: _delete_orders(ctx, good), "the check's good orders in edalab-orders (the table)")
    sqs = ctx.client("sqs")
    for n, order_id in enumerate(good):
        sqs.send_message(QueueUrl=ctx.output("OrdersQueueUrl"), MessageBody=_order(order_id, "lamp", n + 1))
    ctx.wait_for(lambda: _times_processed(ctx, good), what="the 3 good orders processed", timeout=60,
                 until=lambda seen: len(seen) == len(good),
                 missing=lambda seen: ", ".join(o for o in good if o not in seen))
    doubled = {o: n for o, n in _times_processed(ctx, good).items() if n != 1}
    if doubled:
        raise CheckFailed(f"processed more than once: {doubled}")
    ctx.good = good


def _delete_orders(ctx, order_ids):
    for order_id in order_ids:
        ctx.client("dynamodb").delete_item(TableName=ctx.output("OrdersTable"), Key={"order_id": {"S": order_id}})


@step(f"While its poison orders are retried, the check hides a failed order for {CHECK_VISIBILITY} s, not 60 s",
      needs=[clean_start])
def quick_retries(ctx):
    ctx.lab_visibility = _lab_visibility(ctx)
    ctx.cleanup(lambda: _put_lab_visibility_back(ctx), f"the check's visibility timeout (edalab-orders is back to "
                f"{ctx.lab_visibility} s)")
    ctx.client("sqs").set_queue_attributes(QueueUrl=ctx.output("OrdersQueueUrl"),
                                           Attributes={"VisibilityTimeout": str(CHECK_VISIBILITY)})


def _lab_visibility(ctx) -> str:
    """The orders queue's visibility timeout, or the stack's if a check that was killed left its 3 s."""
    value = _attrs(ctx, ctx.output("OrdersQueueUrl"), "VisibilityTimeout")["VisibilityTimeout"]
    if int(value) == CHECK_VISIBILITY:
        value = _stack_parameter(ctx, "VisibilityTimeout") or "60"
    return value


def _put_lab_visibility_back(ctx):
    """The lab's visibility timeout again. Only a failing order may come back after 3 s: a batch that
    succeeds but takes longer (a cold start on a busy machine) would be offered again meanwhile and
    processed twice, so the good orders and the redrive run with the lab's own value."""
    ctx.client("sqs").set_queue_attributes(QueueUrl=ctx.output("OrdersQueueUrl"),
                                           Attributes={"VisibilityTimeout": ctx.lab_visibility})


@step("Poison orders are in the DLQ after exactly 3 receives each", hint=2, needs=[redrive_policy, quick_retries])
def poison_dead_lettered(ctx):
    ctx.poison = [f"{ctx.run}-poison-{n}" for n in range(POISON_ORDERS)]
    ctx.new_product = f"lamp-{ctx.run}"  # not in the catalog until the check "fixes" it
    # Registered before anything exists, in the order that leaves nothing behind (the last
    # registered runs first): settle the queues, then the orders' items, then the product.
    ctx.cleanup(lambda: ctx.client("dynamodb").delete_item(
        TableName=ctx.output("CatalogTable"), Key={"sku": {"S": ctx.new_product}}),
        f"the check's catalog product {ctx.new_product}")
    ctx.cleanup(lambda: _delete_orders(ctx, ctx.poison), "the check's poison orders in edalab-orders (the table)")
    ctx.cleanup(lambda: _settle_poison(ctx), "the check's poison orders left in the lab's queues")
    sqs, dlq = ctx.client("sqs"), ctx.output("DeadLetterQueueUrl")
    for order_id in ctx.poison:
        sqs.send_message(QueueUrl=ctx.output("OrdersQueueUrl"), MessageBody=_order(order_id, ctx.new_product))

    def still_out(dead):
        counts = _rejections(ctx, ctx.poison)
        return ", ".join(f"{o} (rejected {counts[o]} time(s) so far)" for o in ctx.poison if o not in dead)

    ctx.wait_for(lambda: _holding(ctx, dlq, ctx.poison), what=f"orders {', '.join(ctx.poison)} (product "
                 f"{ctx.new_product}, not in the catalog) in edalab-orders-dlq",
                 timeout=30 + 6 * CHECK_VISIBILITY, until=lambda dead: len(dead) == len(ctx.poison), missing=still_out)
    receives = ctx.wait_for(lambda: _rejections(ctx, ctx.poison), what="the processor's log lines", timeout=15,
                            until=lambda counts: all(n >= 3 for n in counts.values()))
    _put_lab_visibility_back(ctx)
    wrong = {o: n for o, n in receives.items() if n != 3}
    if wrong:
        raise CheckFailed(f"times each order was rejected before it reached the DLQ: {wrong}; maxReceiveCount 3 "
                          "means exactly 3")


def _settle_poison(ctx):
    """The check's poison orders end processed (after the fix) or in the DLQ; wait for that,
    then delete them wherever they rest (the DLQ, or the queue a wrong redrive sent them to)."""
    orders = ctx.output("OrdersQueueUrl")
    ctx.wait_for(lambda: _holding(ctx, orders, ctx.poison), what="the check's poison orders to leave edalab-orders",
                 timeout=30 + 6 * CHECK_VISIBILITY, until=lambda held: not held,
                 missing=lambda held: ", ".join(sorted(held)))
    for key in ("DeadLetterQueueUrl", "ReceiptFailuresQueueUrl"):
        url = ctx.output(key)
        ctx.wait_for(lambda url=url: _delete_ours(ctx, url, ctx.poison),
                     what=f"the check's poison orders removed from {url.rsplit('/', 1)[-1]}", timeout=15,
                     until=lambda held: not held, missing=lambda held: ", ".join(sorted(held)))


def _delete_ours(ctx, url, order_ids) -> set[str]:
    """Deletes these orders' messages from the queue; returns those still there. It looks
    first (without receiving), and receives only when one of them is there, so a learner's
    own messages are not received over and over (each receive counts toward their redrive)."""
    there = _holding(ctx, url, order_ids)
    if there:
        ctx.remove_messages(url, lambda body: any(f'"{o}"' in body for o in there))
    return _holding(ctx, url, order_ids)


@step("The DLQ alarm goes to ALARM and its email reaches the on-call inbox", hint=3, needs=[poison_dead_lettered])
def alarm_email(ctx):
    alarm = _alarm(ctx)
    ctx.wait_for(lambda: _alarm(ctx)["StateValue"], what=f"alarm {alarm['AlarmName']} in state ALARM",
                 timeout=30 + 2 * alarm["Period"], until=lambda state: state == "ALARM")
    ctx.wait_for(lambda: _alarm_emails(ctx, ctx.since, "ALARM"),
                 what=f"an email to {ALERT_INBOX} about {alarm['AlarmName']} going to ALARM (see `make mail`)",
                 timeout=30)


def _where(ctx, order_ids) -> str:
    """Which of the lab's queues hold these orders now, said for a learner."""
    places = []
    for key, name in (("OrdersQueueUrl", "edalab-orders"), ("DeadLetterQueueUrl", "edalab-orders-dlq"),
                      ("ReceiptFailuresQueueUrl", "edalab-order-receipt-failures")):
        held = _holding(ctx, ctx.output(key), order_ids)
        if held:
            places.append(f"{', '.join(sorted(held))} in {name}")
    return "; ".join(places) or "in no queue of the lab"


@step("After the fix, your redrive brings every order back from the DLQ and each is processed once", hint=4,
      needs=[poison_dead_lettered])
def redrive(ctx):
    # The fix: the catalog team adds the new product (removed at the end). Now the orders can be priced.
    ctx.client("dynamodb").put_item(TableName=ctx.output("CatalogTable"),
                                    Item={"sku": {"S": ctx.new_product}, "price": {"N": "19.99"}})
    name, dlq_arn = ctx.output("RedriveName"), ctx.output("DeadLetterQueueArn")
    reply = ctx.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    answer = json.loads(reply["Payload"].read() or b"null")
    if reply.get("FunctionError"):
        error = answer if isinstance(answer, dict) else {}
        if error.get("errorType") == "NotImplementedError":
            raise CheckFailed(f"{name} still raises NotImplementedError: write the redrive in "
                              "handlers/orders_redrive/app.py, then `make deploy LAB=04`")
        raise CheckFailed(f"{name} failed: {error.get('errorType')}: {error.get('errorMessage')}; it must start a "
                          f"message move task from the DLQ ({dlq_arn}) to edalab-orders")
    source_arn = ctx.output("OrdersQueueArn")
    if not isinstance(answer, dict) or not answer.get("task_handle"):
        raise CheckFailed(f"{name} answered {answer!r}; return the move task's handle as "
                          "{\"task_handle\": ..., \"from\": dlq, \"to\": source}")
    if (answer.get("from"), answer.get("to")) != (dlq_arn, source_arn):
        raise CheckFailed(f"{name} answered from {answer.get('from')!r} to {answer.get('to')!r}; the redrive moves "
                          f"from the DLQ ({dlq_arn}) to the orders queue ({source_arn}), and says so")
    tasks = ctx.client("sqs").list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
    if not any(t.get("StartedTimestamp", 0) / 1000 >= ctx.since - 1 for t in tasks):
        raise CheckFailed(f"{name} answered {answer!r}, but no message move task started from the DLQ "
                          f"({dlq_arn}): the task's SourceArn must be the DLQ, where the orders are now")
    everyone = [*ctx.good, *ctx.poison] if "good" in vars(ctx) else list(ctx.poison)
    ctx.wait_for(lambda: _times_processed(ctx, ctx.poison), what="every dead-lettered order processed after the "
                 "redrive", timeout=30 + 2 * CHECK_VISIBILITY, until=lambda seen: len(seen) == len(ctx.poison),
                 missing=lambda seen: _where(ctx, [o for o in ctx.poison if o not in seen]))
    ctx.wait_for(lambda: _holding(ctx, ctx.output("DeadLetterQueueUrl"), ctx.poison)
                 | _holding(ctx, ctx.output("OrdersQueueUrl"), ctx.poison),
                 what="the redriven orders to leave the DLQ and edalab-orders", timeout=30 + 2 * CHECK_VISIBILITY,
                 until=lambda held: not held, missing=lambda held: _where(ctx, sorted(held)))
    counts = _times_processed(ctx, everyone)
    if counts != dict.fromkeys(everyone, 1):
        raise CheckFailed(f"times each order was processed: {counts}; every order should be processed once")


@step("A receipt that cannot be sent ends on the on-failure destination, after its 2 retries")
def on_failure_destination(ctx):
    order_id = f"{ctx.run}-no-email"
    url = ctx.output("ReceiptFailuresQueueUrl")

    def take_record(wanted):
        """Deletes the check's record if it is there and returns it. It looks first (without
        receiving), so a learner's records, however many, are neither received nor in the way."""
        found = next((m for m in ctx.queue_messages(url) if f'"{wanted}"' in m.body), None)
        if found is None:
            return None
        ctx.remove_messages(url, lambda body: f'"{wanted}"' in body)
        return json.loads(found.body)

    ctx.cleanup(lambda: take_record(order_id), "the check's failed receipt in edalab-order-receipt-failures")
    ctx.client("lambda").invoke(FunctionName=ctx.output("ReceiptName"), InvocationType="Event",
                                Payload=json.dumps({"order_id": order_id}).encode())
    record = ctx.wait_for(lambda: take_record(order_id), what=f"the failed receipt of {order_id} in "
                          "edalab-order-receipt-failures", timeout=60)
    condition = record.get("requestContext", {}).get("condition")
    invokes = record.get("requestContext", {}).get("approximateInvokeCount")
    if condition != "RetriesExhausted" or invokes != 3:
        raise CheckFailed(f"the failure record says condition {condition!r} after {invokes} invoke(s); expected "
                          "RetriesExhausted after 3 (the first try and 2 retries)")


@step("Once the DLQ is empty the alarm returns to OK, and emails that too", hint=3, needs=[alarm_email, redrive])
def alarm_ok(ctx):
    alarm = _alarm(ctx)
    ctx.wait_for(lambda: _alarm(ctx)["StateValue"], what=f"alarm {alarm['AlarmName']} back to OK (LocalStack looks "
                 f"back over three {alarm['Period']} s periods)", timeout=30 + 4 * alarm["Period"],
                 until=lambda state: state == "OK")
    ctx.wait_for(lambda: _alarm_emails(ctx, ctx.since, "OK"),
                 what=f"an email to {ALERT_INBOX} about {alarm['AlarmName']} going back to OK", timeout=30)

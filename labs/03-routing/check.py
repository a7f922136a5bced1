"""Lab 03 check: a mixed stream of orders and shop events reaches exactly the consumers meant
for it. Every message carries this run's id, so earlier runs and your own tries don't count,
and the check takes back what it sent: its messages from every queue (yours are left where
they were, visible again) and the audit function's records of them.

The orders test each rule of the exercise's filter policy at its edge (99.99 and 100, a
cancelled order, an order to the US); the shop events do the same for the event pattern
(499 and 500, a silver customer, another source, another detail-type). The SNS steps and the
EventBridge steps build only on their own sending step, so a wrong filter policy never hides
what the event pattern does, nor the other way round.
"""

import json
import uuid

from edalab.checks import CheckFailed, step

# order id -> (event_type, country, total)
ORDERS = {
    "o1": ("order_placed", "DE", 50), "o2": ("order_placed", "FR", 150), "o3": ("order_placed", "US", 300),
    "o4": ("order_cancelled", "DE", 200), "o5": ("order_placed", "NL", 99.99), "o6": ("order_placed", "DE", 100),
}
# event id -> (source, detail-type, tier, total)
SHOP_EVENTS = {
    "e1": ("shop.orders", "OrderShipped", "gold", 700), "e2": ("shop.orders", "OrderShipped", "silver", 900),
    "e3": ("shop.orders", "OrderPlaced", "gold", 800), "e4": ("shop.returns", "OrderShipped", "gold", 600),
    "e5": ("shop.orders", "OrderShipped", "gold", 499), "e6": ("shop.orders", "OrderShipped", "gold", 500),
}
# consumer -> (the ids it must get, the rule that says so)
EXPECTED = {
    "billing": ({"o1", "o2", "o3", "o4", "o5", "o6"}, "every order"),
    "shipping": ({"o1", "o2", "o5", "o6"}, "placed orders to DE, FR or NL (a filter on message attributes)"),
    "priority": ({"o2", "o3", "o4", "o6"}, "every order whose total is 100 or more (100 itself counts), "
                                           "whatever its event_type or country"),
    "shipments": ({"e1", "e2", "e5", "e6"}, "OrderShipped events from shop.orders"),
    "vip": ({"e1", "e3", "e6"}, "events from shop.orders whose detail.customer.tier is gold and whose "
                                "detail.total is 500 or more (500 itself counts), whatever their detail-type"),
}
QUEUE_OUTPUT = {"billing": "BillingQueueUrl", "shipping": "ShippingQueueUrl", "priority": "PriorityQueueUrl",
                "shipments": "ShipmentsQueueUrl", "vip": "VipQueueUrl"}
SNS_QUEUES, EVENT_QUEUES = ("billing", "shipping", "priority"), ("shipments", "vip")
PLACEHOLDER_PATTERN = {"source": ["edalab.nothing-yet"]}  # what deploy puts on the VIP rule for a TODO file
WAIT_SECONDS = 15


def _describe(message_id):
    if message_id in ORDERS:
        kind, country, total = ORDERS[message_id]
        return f"{message_id} ({kind} to {country}, total {total})"
    source, kind, tier, total = SHOP_EVENTS[message_id]
    return f"{message_id} ({source}, {kind}, tier {tier}, total {total})"


def _listed(ids):
    return ", ".join(_describe(i) for i in sorted(ids)) or "nothing"


def _difference(name, got):
    """What is wrong with what a consumer got, naming each order or event and the rule; '' when right."""
    want, rule = EXPECTED[name]
    missed, extra = sorted(want - got), sorted(got - want)
    parts = [f"the {name} queue must get {rule}"]
    if missed:
        parts.append(f"it missed {_listed(missed)}")
    if extra:
        parts.append(f"it should not get {_listed(extra)}")
    return "; ".join(parts) if missed or extra else ""


def _id_of(body, unwrap):
    doc = json.loads(body)
    enveloped = doc.get("Type") == "Notification" and "Message" in doc
    if unwrap is None and enveloped:
        raise CheckFailed("billing received SNS envelopes; its subscription should use raw message delivery")
    if unwrap == "sns":
        if not enveloped:
            raise CheckFailed("shipping received raw bodies; its subscription should keep SNS's envelope")
        doc = json.loads(doc["Message"])
    elif unwrap == "events":
        doc = doc["detail"]
    return doc["id"]


def _take(ctx, name, unwrap):
    """Receives this run's messages from a consumer's queue, deleting them, until every expected
    one arrived (or the wait ends), then once more to catch extras. Messages of other runs and
    your own are received too (that is how SQS works): they stay hidden while the step looks
    further, and are made visible again when it ends."""
    sqs, url, run = ctx.client("sqs"), ctx.output(QUEUE_OUTPUT[name]), ctx.run_id
    got, others = set(), {}

    def poll():
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            if run in m["Body"]:
                got.add(_id_of(m["Body"], unwrap))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            else:
                others[m["MessageId"]] = m["ReceiptHandle"]
        return set(got)

    want, failure = EXPECTED[name][0], None
    try:
        ctx.wait_for(poll, what=f"the {name} queue's messages of this run ({', '.join(sorted(want))})",
                     timeout=WAIT_SECONDS, until=lambda ids: ids >= want, missing=lambda ids: _difference(name, ids))
        poll()  # anything beyond what was expected shows up here
    except CheckFailed as timed_out:
        failure = timed_out
    finally:
        for receipt in others.values():  # not ours: visible again for whoever wants it
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0)
    return got, failure


def _consumer(ctx, name, unwrap, hint=None):
    """Takes a consumer's messages and fails, naming each wrong id and the rule, unless it got
    exactly what it should."""
    got, failure = _take(ctx, name, unwrap)
    if failure is not None:
        raise CheckFailed(str(failure), hint=hint)
    difference = _difference(name, got)
    if difference:
        raise CheckFailed(difference, hint=hint)
    return got


def _remove_left_messages(ctx, names):
    """The cleanup of a sending step: this run's messages still in the queues (a consumer step
    that failed or did not run leaves some) are received and deleted. Others' messages are held
    while the check looks further, then made visible again, all at once."""
    for name in names:
        ctx.remove_messages(ctx.output(QUEUE_OUTPUT[name]), ctx.run_id)


def _audited(ctx, channel):
    """The audit table's records of this run on one channel: {order or event id: record key}."""
    items = ctx.client("dynamodb").query(
        TableName=ctx.output("AuditTable"), KeyConditionExpression="channel = :c",
        ExpressionAttributeValues={":c": {"S": channel}})["Items"]
    found = {}
    for item in items:
        if ctx.run_id in item["body"]["S"]:
            doc = json.loads(item["body"]["S"])
            found[(doc.get("detail") or doc)["id"]] = {"channel": item["channel"], "id": item["id"]}
    return found


def _remove_audit_records(ctx, channel, expected_count):
    """The audit function's records of what the check sent. Waits a little for any still on
    their way (the function runs asynchronously), then deletes every one of this run."""
    try:
        ctx.wait_for(lambda: _audited(ctx, channel), what="the audit records to remove", timeout=5,
                     until=lambda found: len(found) >= expected_count)
    except CheckFailed:
        pass  # the audit step already said what is missing; remove what is there
    ddb = ctx.client("dynamodb")
    for key in _audited(ctx, channel).values():
        ddb.delete_item(TableName=ctx.output("AuditTable"), Key=key)


@step("The routing stack is deployed")
def deployed(ctx):
    ctx.output("TopicArn")
    ctx.output("BusName")
    ctx.run_id = f"run-{uuid.uuid4().hex[:8]}"


@step("A mixed stream of orders is published to edalab-orders", needs=[deployed])
def publish(ctx):
    sns = ctx.client("sns")
    ctx.cleanup(lambda: _remove_left_messages(ctx, SNS_QUEUES), "this run's orders left in the queues")
    ctx.cleanup(lambda: _remove_audit_records(ctx, "sns", len(ORDERS)), "the audit records of this run's orders")
    for order_id, (kind, country, total) in ORDERS.items():
        sns.publish(
            TopicArn=ctx.output("TopicArn"),
            Message=json.dumps({"id": order_id, "run": ctx.run_id, "event_type": kind, "country": country,
                                "total": total}),
            MessageAttributes={"event_type": {"DataType": "String", "StringValue": kind},
                               "country": {"DataType": "String", "StringValue": country}},
        )


@step("Billing gets every order, raw (the body is exactly what was published)", needs=[publish])
def billing(ctx):
    _consumer(ctx, "billing", None)


@step("Shipping gets placed orders to DE, FR and NL, in SNS's envelope (attribute filter)", needs=[publish])
def shipping(ctx):
    _consumer(ctx, "shipping", "sns")


@step("Priority gets exactly the orders of 100 or more (your body filter policy)", hint=2, needs=[publish])
def priority(ctx):
    policy = ctx.client("sns").get_subscription_attributes(
        SubscriptionArn=ctx.output("PrioritySubscriptionArn"))["Attributes"].get("FilterPolicy", "")
    try:
        _consumer(ctx, "priority", None, hint=2)
    except CheckFailed as failure:
        if not policy:
            raise CheckFailed(f"the priority subscription has no filter policy yet, so it gets every order: {failure}. "
                              "Write the policy in labs/03-routing/exercise/priority-filter-policy.json, then "
                              "`make deploy LAB=03`", hint=1) from None
        raise


@step("The audit function gets every order (a function subscribes to a topic like a queue)", needs=[publish])
def audit_orders(ctx):
    want = EXPECTED["billing"][0]
    ctx.wait_for(lambda: set(_audited(ctx, "sns")), what="the audit function to record every order",
                 timeout=WAIT_SECONDS, until=lambda ids: ids >= want,
                 missing=lambda ids: f"no audit record of {_listed(want - ids)}")


@step("Shop events are put on the edalab-shop bus", needs=[deployed])
def put_events(ctx):
    ctx.cleanup(lambda: _remove_left_messages(ctx, EVENT_QUEUES), "this run's shop events left in the queues")
    ctx.cleanup(lambda: _remove_audit_records(ctx, "events", len(EXPECTED["shipments"][0])),
                "the audit records of this run's shop events")
    entries = [
        {"EventBusName": ctx.output("BusName"), "Source": source, "DetailType": kind,
         "Detail": json.dumps({"id": event_id, "run": ctx.run_id, "customer": {"tier": tier}, "total": total})}
        for event_id, (source, kind, tier, total) in SHOP_EVENTS.items()
    ]
    failed = ctx.client("events").put_events(Entries=entries)["FailedEntryCount"]
    if failed:
        raise CheckFailed(f"EventBridge refused {failed} event(s)")


@step("The shipped rule routes OrderShipped from shop.orders (source and detail-type)", needs=[put_events])
def shipments(ctx):
    _consumer(ctx, "shipments", "events")


@step("The audit function gets every shipped event (a rule targets a function like a queue)",
      needs=[put_events])
def audit_events(ctx):
    want = EXPECTED["shipments"][0]
    ctx.wait_for(lambda: set(_audited(ctx, "events")), what="the audit function to record every shipped event",
                 timeout=WAIT_SECONDS, until=lambda ids: ids >= want,
                 missing=lambda ids: f"no audit record of {_listed(want - ids)}")


@step("The VIP rule routes gold customers' orders of 500 or more (your event pattern)", hint=3,
      needs=[put_events])
def vip(ctx):
    rule = ctx.client("events").describe_rule(Name=ctx.output("VipRuleName").split("|")[-1],
                                              EventBusName=ctx.output("BusName"))
    if json.loads(rule.get("EventPattern") or "{}") == PLACEHOLDER_PATTERN:
        raise CheckFailed("the VIP rule still has the placeholder pattern, so it matches nothing: write your "
                          "pattern in labs/03-routing/exercise/vip-event-pattern.json, then `make deploy LAB=03`",
                          hint=1)
    _consumer(ctx, "vip", "events")

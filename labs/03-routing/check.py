"""Lab 03 check: a mixed stream of orders and shop events reaches exactly the consumers meant
for it. Every message carries this run's id, so earlier runs and your own tries don't count."""

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
    "e5": ("shop.orders", "OrderShipped", "gold", 499),
}
EXPECTED = {
    "billing": {"o1", "o2", "o3", "o4", "o5", "o6"},
    "shipping": {"o1", "o2", "o5", "o6"},
    "priority": {"o2", "o3", "o4", "o6"},
    "shipments": {"e1", "e2", "e5"},
    "vip": {"e1", "e3"},
}


def _drain(ctx, url, run, expected_count):
    """Receives this run's messages from a queue (deleting them) until the expected number
    arrived, then one more poll to catch any extra. Returns (ids, raw bodies)."""
    sqs = ctx.client("sqs")
    found = {}

    def poll():
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            if run in m["Body"]:
                found[m["MessageId"]] = m["Body"]
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return len(found)

    ctx.wait_for(poll, what=f"{expected_count} message(s) of this run on {url.rsplit('/', 1)[-1]}",
                 timeout=15, until=lambda n: n >= expected_count)
    poll()  # anything beyond what was expected would show up here
    return list(found.values())


def _ids(bodies, unwrap):
    ids = set()
    for body in bodies:
        doc = json.loads(body)
        if unwrap == "sns":
            doc = json.loads(doc["Message"])
        elif unwrap == "events":
            doc = doc["detail"]
        ids.add(doc["id"])
    return ids


def _compare(name, got):
    want = EXPECTED[name]
    if got != want:
        extra, missing = sorted(got - want), sorted(want - got)
        raise CheckFailed(f"the {name} consumer got {sorted(got)}; expected {sorted(want)}"
                          + (f"; should not get {extra}" if extra else "") + (f"; missed {missing}" if missing else ""))


@step("The routing stack is deployed")
def deployed(ctx):
    ctx.run_id = f"run-{uuid.uuid4().hex[:8]}"
    ctx.outputs  # noqa: B018 - fails with a clear message when the stack is missing


@step("A mixed stream of orders is published to edalab-orders")
def publish(ctx):
    sns = ctx.client("sns")
    for order_id, (kind, country, total) in ORDERS.items():
        sns.publish(
            TopicArn=ctx.outputs["TopicArn"],
            Message=json.dumps({"id": order_id, "run": ctx.run_id, "event_type": kind, "country": country, "total": total}),
            MessageAttributes={"event_type": {"DataType": "String", "StringValue": kind},
                               "country": {"DataType": "String", "StringValue": country}},
        )


@step("Billing gets every order, raw (the body is exactly what was published)")
def billing(ctx):
    bodies = _drain(ctx, ctx.outputs["BillingQueueUrl"], ctx.run_id, len(EXPECTED["billing"]))
    if any("TopicArn" in json.loads(b) for b in bodies):
        raise CheckFailed("billing received SNS envelopes; its subscription should use raw message delivery")
    _compare("billing", _ids(bodies, None))


@step("Shipping gets placed orders to DE, FR and NL, in SNS's envelope (attribute filter)")
def shipping(ctx):
    bodies = _drain(ctx, ctx.outputs["ShippingQueueUrl"], ctx.run_id, len(EXPECTED["shipping"]))
    _compare("shipping", _ids(bodies, "sns"))


@step("Priority gets exactly the orders of 100 or more (your body filter policy)", hint=1)
def priority(ctx):
    bodies = _drain(ctx, ctx.outputs["PriorityQueueUrl"], ctx.run_id, len(EXPECTED["priority"]))
    _compare("priority", _ids(bodies, None))


@step("The audit function gets every order")
def audit_orders(ctx):
    ddb = ctx.client("dynamodb")

    def audited():
        items = ddb.query(TableName=ctx.outputs["AuditTable"], KeyConditionExpression="channel = :c",
                          ExpressionAttributeValues={":c": {"S": "sns"}})["Items"]
        return {json.loads(i["body"]["S"])["id"] for i in items if ctx.run_id in i["body"]["S"]}

    got = ctx.wait_for(audited, what="the audit function to record every order", timeout=15,
                       until=lambda ids: ids >= EXPECTED["billing"])
    _compare("billing", got)


@step("Shop events are put on the edalab-shop bus")
def put_events(ctx):
    entries = [
        {"EventBusName": ctx.outputs["BusName"], "Source": source, "DetailType": kind,
         "Detail": json.dumps({"id": event_id, "run": ctx.run_id, "customer": {"tier": tier}, "total": total})}
        for event_id, (source, kind, tier, total) in SHOP_EVENTS.items()
    ]
    failed = ctx.client("events").put_events(Entries=entries)["FailedEntryCount"]
    if failed:
        raise CheckFailed(f"EventBridge refused {failed} event(s)")


@step("The shipped rule routes OrderShipped from shop.orders (source and detail-type)")
def shipments(ctx):
    bodies = _drain(ctx, ctx.outputs["ShipmentsQueueUrl"], ctx.run_id, len(EXPECTED["shipments"]))
    _compare("shipments", _ids(bodies, "events"))


@step("The VIP rule routes gold customers' orders of 500 or more (your event pattern)", hint=3)
def vip(ctx):
    bodies = _drain(ctx, ctx.outputs["VipQueueUrl"], ctx.run_id, len(EXPECTED["vip"]))
    _compare("vip", _ids(bodies, "events"))

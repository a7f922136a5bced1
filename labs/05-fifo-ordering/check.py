"""Lab 05 check: each customer's events arrive in order, each customer is its own message
group, and a retried event is delivered once.

The check asks your producer to publish interleaved events of four customers of its own
(named after this run, so earlier runs and your tries don't count), then the same event again
as a retrying producer would (same customer and sequence number, a new attempt number), and
reads what the fulfilment function logged. Afterwards it removes its customers from the log
table and its messages from edalab-invoicing.fifo (yours stay there, visible again).
"""

import json
import time
import uuid

from edalab.checks import CheckFailed, step

EVENTS_PER_CUSTOMER = 5
CUSTOMERS = 4
WAIT_SECONDS = 30
SETTLED_SECONDS = 4  # the fulfilment queue empty and the log unchanged this long: nothing more will come


def _log(ctx):
    """What fulfilment logged for this run's customers: {customer: (sequence numbers in arrival
    order, message groups seen)}. moto applies an update's actions one by one, so an item whose
    update is half done counts as not logged yet."""
    items = ctx.client("dynamodb").scan(TableName=ctx.output("LogTable"))["Items"]
    return {
        i["customer"]["S"]: ([int(n["N"]) for n in i["seqs"]["L"]], set(i["message_groups"]["SS"]))
        for i in items if i["customer"]["S"].startswith(ctx.run_id) and "seqs" in i and "message_groups" in i
    }


def _expected(ctx, customer):
    last = EVENTS_PER_CUSTOMER + 1 if customer == ctx.customers[0] else EVENTS_PER_CUSTOMER
    return list(range(1, last + 1))


def _missing_events(ctx, log):
    """'run-c1: events 2, 3 (got 1)' for each customer with events not logged yet."""
    gaps = []
    for customer in ctx.customers:
        got = log.get(customer, ([], set()))[0]
        lacking = [n for n in _expected(ctx, customer) if n not in got]
        if lacking:
            gaps.append(f"{customer}: event{'s' if len(lacking) > 1 else ''} {', '.join(map(str, lacking))} "
                        f"(got {', '.join(map(str, got)) or 'none'})")
    return "; ".join(gaps)


def _queue_depth(ctx, output):
    attrs = ctx.client("sqs").get_queue_attributes(
        QueueUrl=ctx.output(output),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _remove_log_items(ctx):
    try:  # let fulfilment finish what it is doing, so nothing is logged after the removal
        ctx.wait_for(lambda: _queue_depth(ctx, "FulfilmentQueueUrl"), what="the fulfilment queue to be empty",
                     timeout=10, until=lambda depth: depth == 0)
    except CheckFailed:
        pass
    ddb = ctx.client("dynamodb")
    for customer in ctx.customers:
        ddb.delete_item(TableName=ctx.output("LogTable"), Key={"customer": {"S": customer}})


def _remove_invoicing_messages(ctx):
    """This run's messages in edalab-invoicing.fifo (nobody consumes it) are received and
    deleted. Messages of others are held while the check looks further (a FIFO queue hands out
    a group's next message only when the one before is gone or visible again), then made
    visible again, all at once."""
    ctx.remove_messages(ctx.output("InvoicingQueueUrl"), ctx.run_id)


@step("The FIFO stack is deployed")
def deployed(ctx):
    ctx.output("ProducerName")
    ctx.output("LogTable")
    ctx.run_id = f"run{uuid.uuid4().hex[:6]}"
    ctx.customers = [f"{ctx.run_id}-c{n}" for n in range(CUSTOMERS)]


@step("The producer publishes interleaved events of 4 customers, then retries one", needs=[deployed])
def produce(ctx):
    events = [{"customer": c, "seq": s, "action": f"step {s}", "attempt": 1}
              for s in range(1, EVENTS_PER_CUSTOMER + 1) for c in ctx.customers]
    # the same business event again, as a producer retrying after a timeout sends it: the
    # same customer and sequence number, a later attempt
    events.append(dict(events[0], attempt=2))
    # a last event in the first customer's group: once it is logged, the retry (before it,
    # in the same group) has been handled too
    events.append({"customer": ctx.customers[0], "seq": EVENTS_PER_CUSTOMER + 1, "action": "last", "attempt": 1})
    ctx.cleanup(lambda: _remove_log_items(ctx), "this run's customers in the fulfilment log")
    ctx.cleanup(lambda: _remove_invoicing_messages(ctx), "this run's messages in edalab-invoicing.fifo")
    reply = ctx.client("lambda").invoke(FunctionName=ctx.output("ProducerName"),
                                        Payload=json.dumps({"events": events}))
    if reply.get("FunctionError"):
        error = json.loads(reply["Payload"].read() or b"{}")
        raise CheckFailed(f"the producer failed: {error.get('errorType')}: {error.get('errorMessage')}. "
                          "group_id and deduplication_id must each return a non-empty string", hint=1)


@step("Fulfilment receives every customer's events", hint=3, needs=[produce])
def received(ctx):
    settled = {"log": None, "since": time.monotonic()}

    def complete(log):
        return all(set(_expected(ctx, c)) <= set(log.get(c, ([], set()))[0]) for c in ctx.customers)

    def probe():
        log = _log(ctx)
        if log != settled["log"] or _queue_depth(ctx, "FulfilmentQueueUrl"):
            settled.update(log=log, since=time.monotonic())
        return log

    def done(log):  # everything arrived, or some did and no more can: the queue is empty, the log still
        return complete(log) or (bool(log) and time.monotonic() - settled["since"] >= SETTLED_SECONDS)

    ctx.log = ctx.wait_for(probe, what="fulfilment to log every customer's events", timeout=WAIT_SECONDS,
                           until=done, missing=lambda log: _missing_events(ctx, log))
    if not complete(ctx.log):
        raise CheckFailed(
            f"the fulfilment queue is empty, and these events never arrived: {_missing_events(ctx, ctx.log)}. "
            "A FIFO topic drops a message whose deduplication id it saw in the last five minutes, so two "
            "different events must never share one: build the id from the customer AND the sequence number",
            hint=2)


@step("Each customer is its own message group, so customers proceed in parallel", hint=1, needs=[received])
def groups(ctx):
    for customer in ctx.customers:
        seen_groups = ctx.log[customer][1]
        if len(seen_groups) > 1:
            raise CheckFailed(f"{customer}'s events came in {len(seen_groups)} message groups "
                              f"({', '.join(sorted(seen_groups)[:3])}, ...): a FIFO queue keeps order only within "
                              "a group, so all events of one customer must share one group: the customer")
    owners: dict[str, list[str]] = {}
    for customer in ctx.customers:
        owners.setdefault(next(iter(ctx.log[customer][1])), []).append(customer)
    shared = {group: customers for group, customers in owners.items() if len(customers) > 1}
    if shared:
        group, customers = next(iter(shared.items()))
        raise CheckFailed(f"customers {', '.join(customers)} all came in message group {group!r}: they wait in "
                          "one line, and one slow customer holds up the others. Make each customer a group "
                          "of its own: group_id should return the customer")


@step("Each customer's events arrived in order", hint=1, needs=[received])
def order(ctx):
    for customer in ctx.customers:
        seqs = ctx.log[customer][0]
        first_arrivals = list(dict.fromkeys(seqs))  # repeats are the next step's business
        if sorted(first_arrivals) != first_arrivals:
            raise CheckFailed(f"{customer}'s events arrived as {seqs}: the events of one customer must share "
                              "one message group, which a FIFO queue delivers in order")


@step("The retried event was delivered once (deduplication)", hint=2, needs=[received])
def deduplicated(ctx):
    retried = ctx.customers[0]
    seqs = ctx.log[retried][0]
    if seqs.count(1) > 1:
        raise CheckFailed(f"{retried} received {seqs}: event 1 was sent twice (a retry, attempt 2) and delivered "
                          f"{seqs.count(1)} times. The deduplication id must name the business event, its "
                          "customer and sequence number, not the attempt: not random, not the whole body")

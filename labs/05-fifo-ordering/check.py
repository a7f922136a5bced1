"""Lab 05 check: each customer's events arrive in order, each customer is its own message
group, and a retried event is delivered once."""

import json
import uuid

from edalab.checks import CheckFailed, step

EVENTS_PER_CUSTOMER = 5
CUSTOMERS = 4


def _log(ctx):
    items = ctx.client("dynamodb").scan(TableName=ctx.outputs["LogTable"])["Items"]
    return {
        i["customer"]["S"]: ([int(n["N"]) for n in i["seqs"]["L"]], set(i["message_groups"]["SS"]))
        for i in items if i["customer"]["S"].startswith(ctx.run_id) and "seqs" in i and "message_groups" in i
    }


@step("The FIFO stack is deployed")
def deployed(ctx):
    ctx.run_id = f"run{uuid.uuid4().hex[:6]}"
    ctx.customers = [f"{ctx.run_id}-c{n}" for n in range(CUSTOMERS)]
    ctx.outputs  # noqa: B018 - fails with a clear message when the stack is missing


@step("The producer publishes interleaved events of 4 customers, then retries one")
def produce(ctx):
    events = [{"customer": c, "seq": s, "action": f"step {s}"}
              for s in range(1, EVENTS_PER_CUSTOMER + 1) for c in ctx.customers]
    events.append(dict(events[0]))  # the same business event again, as a retrying producer would
    # a last event in the first customer's group: once it is logged, the retry (before it,
    # in the same group) has been handled too
    events.append({"customer": ctx.customers[0], "seq": EVENTS_PER_CUSTOMER + 1, "action": "last"})
    reply = ctx.client("lambda").invoke(FunctionName=ctx.outputs["ProducerName"],
                                        Payload=json.dumps({"events": events}))
    if reply.get("FunctionError"):
        raise CheckFailed(f"the producer failed: {reply['Payload'].read()[:300]!r}")


@step("Fulfilment receives every customer's events")
def received(ctx):
    def complete(log):
        return (len(log) == CUSTOMERS and all(len(seqs) >= EVENTS_PER_CUSTOMER for seqs, _ in log.values())
                and EVENTS_PER_CUSTOMER + 1 in log[ctx.customers[0]][0])

    ctx.log = ctx.wait_for(lambda: _log(ctx), what="fulfilment to log every customer's events", timeout=30,
                           until=complete)


@step("Each customer is its own message group, so customers proceed in parallel", hint=1)
def groups(ctx):
    for customer, (_, seen_groups) in sorted(ctx.log.items()):
        if seen_groups != {customer}:
            raise CheckFailed(f"{customer}'s events came in message group(s) {sorted(seen_groups)}; each customer "
                              "should be a group of its own, or one slow customer holds up all the others")


@step("Each customer's events arrived in order", hint=1)
def order(ctx):
    for customer, (seqs, _) in sorted(ctx.log.items()):
        first_arrivals = list(dict.fromkeys(seqs))  # repeats are the next step's business
        if sorted(first_arrivals) != first_arrivals:
            raise CheckFailed(f"{customer}'s events arrived as {seqs}")


@step("The retried event was delivered once (deduplication)", hint=2)
def deduplicated(ctx):
    retried = ctx.customers[0]
    seqs = ctx.log[retried][0]
    if seqs != list(range(1, EVENTS_PER_CUSTOMER + 2)):
        raise CheckFailed(f"{retried} received {seqs}: event 1 was sent twice and delivered "
                          f"{seqs.count(1)} times; give the same event the same deduplication id")

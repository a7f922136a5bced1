"""`make traffic LAB=07 RATE=5 FAIL=0.1 SLOW=0.1 DURATION=60`: orders for the lab to watch.

Why this exists: monitoring needs something to monitor. This sends orders to the lab's queue
(edalab-monitored-orders) at a steady rate: good ones, slow ones (with an engraving, which the
processor waits for) and poison ones (each with a reason: an unknown product, a bad quantity,
no items, not JSON), in the shares asked for. The shares are kept, not drawn at random: with FAIL=0.1
every tenth order is poison, so what the dashboard and the queries show can be compared with
what was sent. Every order carries a correlation id (message attribute `correlation_id`,
`traffic-<run>-<n>`), which the processor's log lines repeat. Ctrl-C stops early and still
prints what was sent.
"""


import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from edalab import aws, bootstrap

STACK = "edalab-07-monitoring"
DEFAULTS = {"rate": 5.0, "fail": 0.1, "slow": 0.1, "duration": 60.0}
MAX_RATE = 200.0  # orders per second: more than the engine's one consumer can take anyway
MAX_DURATION = 3600.0
# the poison kinds, in turn; each is a reason the processor logs and counts (OrdersRejected)
POISON = ("unknown_sku", "bad_quantity", "no_items", "not_json")
SKUS = ("lamp", "desk", "chair", "mug")


class BadTraffic(ValueError):
    """A setting that cannot be sent; the message says what to use instead."""


@dataclass
class Sent:
    run: str
    mix: Iterator[str]  # the kind of each next order
    kinds: Counter = field(default_factory=Counter)  # good, slow, poison
    reasons: Counter = field(default_factory=Counter)  # poison orders by reason
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.kinds.values())


def check_settings(rate: float, fail: float, slow: float, duration: float) -> None:
    """Raises BadTraffic naming the setting that is wrong and what it may be."""
    if not 0 < rate <= MAX_RATE:
        raise BadTraffic(f"RATE={rate:g} orders per second: use a number above 0 and at most {MAX_RATE:g}, e.g. RATE=5")
    for name, share in (("FAIL", fail), ("SLOW", slow)):
        if not 0 <= share <= 1:
            raise BadTraffic(f"{name}={share:g} is a share of the orders, from 0 to 1 (0.1 = one order in ten)")
    if fail + slow > 1:
        raise BadTraffic(f"FAIL={fail:g} and SLOW={slow:g} add up to {fail + slow:g}: together they are shares of "
                         "the same orders, at most 1 (the rest are good orders)")
    if not 0 < duration <= MAX_DURATION:
        raise BadTraffic(f"DURATION={duration:g} seconds: use a number above 0 and at most {MAX_DURATION:g}")


def kinds(fail: float, slow: float):
    """Each next order's kind: exact shares, spread evenly (with FAIL=0.1 every tenth order is
    poison). A slow order due at the same time as a poison one comes next."""
    poison_due, slow_due = 1e-9, 0.5  # 1e-9: ten times 0.1 reaches 1.0; 0.5: slow orders fall between poison ones
    while True:
        poison_due, slow_due = poison_due + fail, slow_due + slow
        if poison_due >= 1:
            poison_due -= 1
            yield "poison"
        elif slow_due >= 1:
            slow_due -= 1
            yield "slow"
        else:
            yield "good"


def order_body(n: int, order_id: str, kind: str, reason: str | None = None) -> str:
    sku = SKUS[n % len(SKUS)]
    order = {"order_id": order_id, "customer": "Traffic", "items": [{"sku": sku, "qty": 1 + n % 3}]}
    if kind == "slow":
        order["engraving"] = "Happy birthday"
    elif reason == "unknown_sku":
        order["items"] = [{"sku": "teapot", "qty": 1}]
    elif reason == "bad_quantity":
        order["items"] = [{"sku": sku, "qty": 0}]
    elif reason == "no_items":
        order["items"] = []
    elif reason == "not_json":
        return f"order {order_id}: 1 x {sku}, please"
    return json.dumps(order)


def send_orders(endpoint: str, rate: float, fail: float, slow: float, duration: float, say=print,
                run: str | None = None) -> Sent:
    """Sends round(rate * duration) orders, paced at `rate` per second; returns what was sent."""
    check_settings(rate, fail, slow, duration)
    queue_url = _queue_url(endpoint)
    sqs = aws.client("sqs", endpoint)
    sent = Sent(run or uuid.uuid4().hex[:6], kinds(fail, slow))
    count = max(1, round(rate * duration))
    say(f"Sending {count} orders to edalab-monitored-orders over {duration:g} s ({rate:g}/s; poison {fail:.0%}, "
        f"slow {slow:.0%}); correlation ids traffic-{sent.run}-NNNNN. Ctrl-C stops.")
    started = time.monotonic()
    try:
        n = 0
        while n < count:
            due = min(count, int((time.monotonic() - started) * rate) + 1)
            while n < due:  # at most 10 orders per SendMessageBatch
                upto = min(due, n + 10)
                _send(sqs, queue_url, [_entry(sent, i) for i in range(n, upto)])
                n = upto
            if n < count:
                time.sleep(max(0.0, started + n / rate - time.monotonic()))
    except KeyboardInterrupt:
        say("Stopped (Ctrl-C).")
    sent.seconds = time.monotonic() - started
    reasons = ", ".join(f"{reason} {sent.reasons[reason]}" for reason in POISON if sent.reasons[reason])
    say(f"Sent {sent.total} orders in {sent.seconds:.0f} s: {sent.kinds['good']} good, {sent.kinds['slow']} slow "
        f"(engraved), {sent.kinds['poison']} poison" + (f" ({reasons})" if reasons else "") + f". Run {sent.run}.")
    return sent


def _entry(sent: Sent, n: int) -> dict:
    kind = next(sent.mix)
    reason = POISON[sent.kinds["poison"] % len(POISON)] if kind == "poison" else None
    sent.kinds[kind] += 1
    if reason:
        sent.reasons[reason] += 1
    order_id = f"{sent.run}-{n:05d}"
    return {"Id": str(n), "MessageBody": order_body(n, order_id, kind, reason),
            "MessageAttributes": {"correlation_id": {"DataType": "String", "StringValue": f"traffic-{order_id}"}}}


def _send(sqs, queue_url: str, batch: list[dict]) -> None:
    answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=batch)
    if answer.get("Failed"):
        first = answer["Failed"][0]
        raise BadTraffic(f"the queue refused {len(answer['Failed'])} order(s): {first.get('Message')}")


def _queue_url(endpoint: str) -> str:
    try:
        return bootstrap.stack_outputs(STACK, endpoint)["OrdersQueueUrl"]
    except (ClientError, KeyError):
        raise BadTraffic("lab 07 is not deployed here: `make deploy LAB=07` (or `make up`), then try again") from None


def run(endpoint, args, say) -> int:
    settings = {key: getattr(args, key, None) for key in DEFAULTS}
    settings = {key: DEFAULTS[key] if value is None else value for key, value in settings.items()}
    try:
        send_orders(endpoint, settings["rate"], settings["fail"], settings["slow"], settings["duration"], say)
    except BadTraffic as error:
        say(f"make traffic: {error}")
        return 2
    except (BotoCoreError, ClientError) as error:
        say(f"make traffic: the engine did not take the orders ({error}); is it running? `make status`")
        return 1
    return 0

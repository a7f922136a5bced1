"""Lab 06 check: a failing record does not send its batch mates back, and a payment
delivered twice is charged once.

The check sends a batch of 10 payments of its own (named after this run); the fourth is
flaky, failing on its first delivery as a timed-out bank call would. While it waits for the
charges it watches the queue without taking anything from it (LocalStack's developer
endpoint lists messages, in flight or not, without hiding them, so your own
`receive-message` cannot disturb it): when only the failed record came back, there is a
moment when the flaky payment waits for its retry alone; when the whole batch came back, its
batch mates wait with it. Then it sends one payment again, with another body but the same
payment_id. Afterwards it removes its ledger entries and the idempotency records that appeared
while it ran.
"""

import hashlib
import json
import time
import uuid

from edalab import function_errors
from edalab.checks import CheckFailed, step

PAYMENTS = 10
FLAKY = 3  # fails on its first delivery; a naive handler has charged the payments before it by then
EXPECTED_ERRORS = ("TransientError",)  # the flaky payment's, on purpose: not shown as a failure's cause
SHARED_AMOUNT = (5, 6)  # two payments with the same amount: idempotency must be keyed on payment_id
ERRORS_EVERY_SECONDS = 2.0  # how often a wait reads the function's log for errors


def _amount(n):
    return 10 + (SHARED_AMOUNT[0] if n in SHARED_AMOUNT else n)


def _visibility(ctx):
    attrs = ctx.client("sqs").get_queue_attributes(QueueUrl=ctx.output("PaymentsQueueUrl"),
                                                   AttributeNames=["VisibilityTimeout"])["Attributes"]
    return int(attrs["VisibilityTimeout"])


def _ledger(ctx):
    """{payment id: (charges, the request that charged it last)} for this run's payments."""
    keys = [{"payment_id": {"S": p}} for p in ctx.payments]
    table = ctx.output("LedgerTable")
    items = ctx.client("dynamodb").batch_get_item(RequestItems={table: {"Keys": keys}})["Responses"][table]
    return {i["payment_id"]["S"]: (int(i["charges"]["N"]), i.get("last_request", {}).get("S")) for i in items}


def _in_queue(ctx, output="PaymentsQueueUrl"):
    """This run's messages in a queue, visible or in flight, without receiving them:
    {message id: (payment id, receive count)}."""
    found = {}
    for m in ctx.queue_messages(ctx.output(output)):
        if ctx.run_id in m.body:
            try:
                payment = json.loads(m.body).get("payment_id")
            except ValueError:
                payment = None
            found[m.message_id] = (payment, m.receives)
    return found


def _raised_transient_error(ctx) -> bool:
    """Whether an invocation since the batch was sent failed as a whole with TransientError
    (a handler that raises it instead of reporting the record in batchItemFailures)."""
    errors = function_errors.logged_errors(ctx.client("logs"), ctx.output("FunctionName"), ctx.sent_at_ms)
    return any(error_type == "TransientError" for error_type, _, _ in errors)


def _names(payments):
    return ", ".join(payments) if payments else "none"


class _Watch:
    """What the check saw while the payments were processed: the charges, this run's messages
    in the queue, whether the flaky payment ever waited for its retry alone, and (read at most
    every ERRORS_EVERY_SECONDS) whether the function logged errors since the batch was sent."""

    def __init__(self, ctx):
        self.ctx, self.charges, self.queued = ctx, {}, {}
        self.flaky_waited_alone = False
        self.errors, self._errors_read = [], 0.0
        self.empty_looks = 0  # looks in a row that found none of this run's messages in the queue

    def look(self):
        ctx = self.ctx
        # the queue first: a message leaves it only after its charge, so charges read next are
        # complete for every message already gone
        self.queued = _in_queue(ctx)
        self.charges = _ledger(ctx)
        self.empty_looks = 0 if self.queued else self.empty_looks + 1
        queued_payments = {payment for payment, _ in self.queued.values()}
        if queued_payments == {ctx.flaky} and ctx.flaky not in self.charges and self.charges:
            self.flaky_waited_alone = True
        return self

    def nothing_charged_after_errors(self):
        """True when every payment was received, none was charged, and the function logged an
        error: the first delivery of the batch failed as a whole, so the check already fails."""
        ctx = self.ctx
        received_all = len(self.queued) == len(ctx.payments) and all(n >= 1 for _, n in self.queued.values())
        if self.charges or not received_all:
            return False
        if time.monotonic() - self._errors_read >= ERRORS_EVERY_SECONDS:
            self._errors_read = time.monotonic()
            self.errors = function_errors.errors_since(ctx.lab.stack, ctx.endpoint, ctx.sent_at_ms,
                                                       frozenset(EXPECTED_ERRORS))
        return bool(self.errors)

    def uncharged(self):
        return [p for p in self.ctx.payments if p not in self.charges]

    def settled(self):
        """Every payment charged and none of this run's messages left, or some uncharged while
        none is left to deliver them (nothing more can be charged). "None left" takes two looks
        in a row, a guard against a listing that misses a message at the instant a receive takes
        it (stock LocalStack's did; the engine's plugin sqs/consistent_listing.py lists it)."""
        return self.empty_looks >= 2 and (not self.uncharged() or time.monotonic() - self.ctx.sent_at >= 2)


def _remove_records(ctx, idempotency_before):
    ddb = ctx.client("dynamodb")
    for payment in ctx.payments:
        ddb.delete_item(TableName=ctx.output("LedgerTable"), Key={"payment_id": {"S": payment}})
    table = ctx.output("IdempotencyTable")
    ours = _idempotency_hashes(ctx.payments)
    for key in _idempotency_keys(ctx) - idempotency_before:
        if key.rsplit("#", 1)[-1] in ours:  # a record the learner made meanwhile stays
            ddb.delete_item(TableName=table, Key={"id": {"S": key}})


def _idempotency_hashes(payments) -> set[str]:
    """The hashes Powertools keys this run's payments by (`<function>#<hash of the payment_id
    as JSON>`; md5 by default, sha256 when configured)."""
    return {algorithm(json.dumps(p, sort_keys=True).encode()).hexdigest()
            for p in payments for algorithm in (hashlib.md5, hashlib.sha256)}


def _no_payments_left(ctx):
    """A payment your function keeps failing stays in the queue, in flight, where the check
    cannot take it: say so rather than leave it unmentioned."""
    left = len(_in_queue(ctx)) + len(_in_queue(ctx, "DeadLetterQueueUrl"))
    if left:
        raise RuntimeError(f"{left} of them are still in edalab-payments or its dead-letter queue, because your "
                           "function keeps failing them: they are charged once you deploy a fix "
                           "(`make deploy LAB=06`), or gone after `make reset`")


def _idempotency_keys(ctx):
    keys, kwargs = set(), {}
    while True:
        page = ctx.client("dynamodb").scan(TableName=ctx.output("IdempotencyTable"), ProjectionExpression="id", **kwargs)
        keys |= {i["id"]["S"] for i in page["Items"]}
        if "LastEvaluatedKey" not in page:
            return keys
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


@step("The batch stack is deployed")
def deployed(ctx):
    ctx.output("PaymentsQueueUrl")
    ctx.run_id = uuid.uuid4().hex[:6]
    ctx.payments = [f"{ctx.run_id}-p{n}" for n in range(PAYMENTS)]
    ctx.flaky = ctx.payments[FLAKY]


@step("A batch of 10 payments is sent; one of them fails once (a transient error)", needs=[deployed])
def send(ctx):
    idempotency_before = _idempotency_keys(ctx)
    ctx.cleanup(lambda: _no_payments_left(ctx), "this run's payments")
    ctx.cleanup(lambda: _remove_records(ctx, idempotency_before), "this run's ledger entries and idempotency records")
    entries = [{"Id": str(n), "MessageBody": json.dumps({"payment_id": p, "amount": _amount(n), "flaky": n == FLAKY})}
               for n, p in enumerate(ctx.payments)]
    ctx.sent_at, ctx.sent_at_ms = time.monotonic(), int(time.time() * 1000)
    ctx.client("sqs").send_message_batch(QueueUrl=ctx.output("PaymentsQueueUrl"), Entries=entries)


@step("Every payment is charged, the failed one after its retry", hint=2, needs=[send])
def all_charged(ctx):
    watch = _Watch(ctx)
    failed_first_delivery = {}

    def done(w):
        failed_first_delivery["now"] = w.nothing_charged_after_errors()
        return failed_first_delivery["now"] or w.settled()

    # looks often: with a short visibility timeout the flaky payment waits alone for a second or two
    ctx.wait_for(watch.look, what="a charge for each of the 10 payments", timeout=20 + 3 * _visibility(ctx),
                 interval=0.1, until=done,
                 missing=lambda w: f"payments {_names(w.uncharged())} ({len(w.charges)} of {PAYMENTS} charged)")
    ctx.watch = watch
    if failed_first_delivery["now"]:
        raise CheckFailed("none of the 10 payments was charged, and edalab-payment-processor failed on its first "
                          "delivery of them (its error is below). Every payment but the flaky one must be charged on "
                          "its first delivery: fix the error, `make deploy LAB=06`, and check again", hint=2)
    if watch.uncharged():
        raise CheckFailed(f"payments {_names(watch.uncharged())} left the queue without being charged: the function "
                          "reported success for them. If you made charging idempotent, its key must be payment_id "
                          f"({ctx.payments[SHARED_AMOUNT[0]]} and {ctx.payments[SHARED_AMOUNT[1]]} share an amount)",
                          hint=3)


@step("Only the failed record was retried: every payment was charged exactly once", hint=1, needs=[all_charged])
def charged_once(ctx):
    watch = ctx.watch
    doubled = {p: n for p, (n, _) in watch.charges.items() if n != 1}
    if doubled:
        raise CheckFailed(f"charged more than once: {doubled}. When one record failed, the whole batch came back; "
                          "report only the failed record in batchItemFailures")
    # Charged in the same invocation as its mates, with no failed invocation before: the flaky
    # payment was charged on its first delivery. (The same invocation alone is not enough: SQS
    # may hand the flaky record out first, and a batch retried whole after the handler raised
    # TransientError is charged in one invocation too; that is the next verdict's case.)
    flaky_request = watch.charges[ctx.flaky][1]
    if not _raised_transient_error(ctx) and any(
            request == flaky_request for p, (_, request) in watch.charges.items() if p != ctx.flaky):
        raise CheckFailed(f"{ctx.flaky}, the flaky payment, was charged on its first delivery, so nothing was retried: "
                          "keep the handler's `raise TransientError` for a flaky payment on its first attempt "
                          "(record.attributes.approximate_receive_count is the string \"1\" then)", hint=2)
    if not watch.flaky_waited_alone:
        raise CheckFailed(f"the whole batch came back: while {ctx.flaky} waited for its retry, its batch mates were "
                          "back in the queue with it (idempotency kept them from being charged twice). Report only "
                          "the failed record in batchItemFailures: return process_partial_response(...), and "
                          "never raise from the handler itself")


@step("A payment delivered twice is charged once (idempotency on payment_id)", hint=3, needs=[all_charged])
def idempotent(ctx):
    again = ctx.payments[1]
    before = _ledger(ctx)[again][0]
    ctx.client("sqs").send_message(QueueUrl=ctx.output("PaymentsQueueUrl"),
                                   MessageBody=json.dumps({"payment_id": again, "amount": _amount(1), "resent": True}))
    ctx.wait_for(lambda: _in_queue(ctx), what=f"the second delivery of {again} to be processed",
                 timeout=10 + 2 * _visibility(ctx), until=lambda queued: not queued,
                 missing=lambda queued: f"{again}'s second delivery is still in the queue (received "
                                        f"{max(n for _, n in queued.values())} times): your function fails it")
    after = _ledger(ctx)[again][0]
    if after != before:
        raise CheckFailed(f"{again} was delivered a second time and charged again ({after} charges now): make "
                          "charging idempotent on payment_id. The second delivery had one more field (resent), as a "
                          "payment sent again by its producer may: a key on the whole body does not catch it")

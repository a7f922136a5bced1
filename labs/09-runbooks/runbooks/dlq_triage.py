"""Runbook: triage the DLQ and redrive selectively.

    python labs/09-runbooks/runbooks/dlq_triage.py [--fixed REASON ...] [--dry-run]

Reads every message in edalab-runbook-orders-dlq, finds why each failed in the consumer's log
(`failure_reason` on the line with its `message_id`, else its `order_id`), groups them by reason,
and then decides for each message (decide(), the lab's exercise):
  delete   its order is recorded already (a replay or an earlier redrive got it): a leftover copy
  redrive  its reason is one you fixed (--fixed ConsumerBug, --fixed DownstreamUnavailable)
  park     anything else: moved to edalab-runbook-parked with its reason, on purpose, for a person
Unlike SQS's own redrive (StartMessageMoveTask, which moves everything), this sends back only
what can now succeed. See dlq_triage.md.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent  # the solution's copy finds _shared.py in the lab's runbooks/
sys.path.insert(0, str(HERE if (HERE / "_shared.py").exists() else HERE.parents[4] / "runbooks"))
import _shared as shared  # noqa: E402


@dataclass
class DeadLetter:
    message_id: str
    receipt: str
    body: str
    order_id: str | None
    reason: str  # from the consumer's log; "unknown" when no line names it


def decide(letter: DeadLetter, fixed: set[str], recorded: set[str]) -> str:
    """What to do with one dead letter: "delete", "redrive" or "park".

    `fixed` holds the failure reasons whose cause you fixed (from --fixed); `recorded` holds the
    order ids the table has already. Decide in this order:
      - its order is recorded already: "delete" (a copy left behind by a replay or a redrive)
      - its reason is fixed: "redrive"
      - anything else: "park" (a person looks at it; it must not go round again)
    """
    # TODO (the lab's exercise): return "delete", "redrive" or "park" for this letter
    raise NotImplementedError("decide() is the lab 09 exercise: see runbooks/dlq_triage.md and `make hint LAB=09`")


def order_id_of(body: str) -> str | None:
    try:
        detail = json.loads(body).get("detail") or {}
        return detail.get("order_id") if isinstance(detail, dict) else None
    except (ValueError, AttributeError):
        return None


def failure_reasons(endpoint: str) -> tuple[dict[str, str], dict[str, str]]:
    """(message id -> last failure reason, order id -> last failure reason) from the consumer's log."""
    by_message, by_order = {}, {}
    for message in shared.log_messages(endpoint, shared.CONSUMER):
        try:
            line = json.loads(message)
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("failure_reason"):
            by_message[line.get("message_id")] = line["failure_reason"]
            if line.get("order_id"):
                by_order[line["order_id"]] = line["failure_reason"]
    return by_message, by_order


def main(argv: list[str] | None = None, say=print) -> int:
    def extra(parser):
        parser.add_argument("--fixed", action="append", default=[], choices=shared.REASONS,
                            help="a failure reason whose cause is fixed now (repeat for several)")
        parser.add_argument("--settle-timeout", type=float, default=300,
                            help="seconds to wait for the orders queue to settle first")

    args = shared.arguments("Group the DLQ by failure reason; redrive only what is fixed.", argv, extra)
    book = shared.Runbook("DLQ triage and selective redrive", args.endpoint, args.dry_run, say)
    sqs = shared.aws.client("sqs", args.endpoint)
    queue, dlq, parked = (shared.queue_url(args.endpoint, n) for n in (shared.QUEUE, shared.DLQ, shared.PARKED))

    book.step("Let the orders queue settle: every message processed or in the DLQ")
    book.say(f"   $ sqs.get_queue_attributes(QueueUrl={queue!r}, AttributeNames=['ApproximateNumberOfMessages', ...])")
    if not args.dry_run and shared.mapping(args.endpoint)["State"] != "Enabled" and shared.depth(args.endpoint, shared.QUEUE):
        book.note("the consumer's mapping is not enabled (breaker open?): messages still in the queue wait for it")
    else:
        book.wait(lambda: shared.depth(args.endpoint, shared.QUEUE), lambda n: n == 0, "edalab-runbook-orders to be empty",
                  args.settle_timeout, show=lambda n: f"messages in edalab-runbook-orders: {n}")

    book.step("Read the DLQ (hidden for 5 minutes while you triage; nobody else consumes it)")
    book.call("sqs", "get_queue_attributes", QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]) \
        if args.dry_run else None
    received = []
    while not args.dry_run:
        page = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=300, WaitTimeSeconds=1,
                                   AttributeNames=["All"]).get("Messages", [])
        if not page:
            break
        received += page
    book.say(f"   $ sqs.receive_message(QueueUrl={dlq!r}, MaxNumberOfMessages=10, VisibilityTimeout=300, "
             "WaitTimeSeconds=1)  (until it answers no message)")
    if not args.dry_run:
        book.note(f"{len(received)} message(s) in the DLQ")

    book.step("Find each message's failure reason in the consumer's log")
    book.say(f"   $ logs.filter_log_events(logGroupName='/aws/lambda/{shared.CONSUMER}', "
             "filterPattern='{ $.failure_reason = * }')")
    if args.dry_run:
        book.step("Group by reason; then delete (recorded already), redrive (--fixed) or park (the rest)")
        book.say(f"   $ sqs.send_message(QueueUrl={queue!r}, MessageBody=<body>)   # redrive")
        book.say(f"   $ sqs.send_message(QueueUrl={parked!r}, MessageBody=<body>, MessageAttributes="
                 "{'failure_reason': ...})   # park")
        book.say(f"   $ sqs.delete_message(QueueUrl={dlq!r}, ReceiptHandle=<its receipt>)   # every one, after")
        return book.done("the DLQ is empty and the redriven orders are in edalab-runbook-orders (the table)")
    by_message, by_order = failure_reasons(args.endpoint)
    letters = []
    for m in received:
        order_id = order_id_of(m["Body"])
        reason = by_message.get(m["MessageId"]) or by_order.get(order_id or "") or "unknown"
        letters.append(DeadLetter(m["MessageId"], m["ReceiptHandle"], m["Body"], order_id, reason))
    for reason, count in Counter(letter.reason for letter in letters).most_common():
        book.note(f"{count:5d}  {reason}{'  (fixed)' if reason in args.fixed else ''}")

    book.step("Decide for each message, and act")
    recorded = set(shared.processed(args.endpoint, sorted({x.order_id for x in letters if x.order_id})))
    try:  # every decision before the first action: a decide() that raises acts on nothing
        actions = {letter.message_id: decide(letter, set(args.fixed), recorded) for letter in letters}
        wrong = {m: a for m, a in actions.items() if a not in ("delete", "redrive", "park")}
        if wrong:
            raise RuntimeError(f"decide() answered {sorted(set(wrong.values()))!r} for {len(wrong)} message(s); "
                               "use delete, redrive or park")
    except BaseException:
        for letter in letters:  # visible again at once, not in 5 minutes: the next run sees them all
            sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=letter.receipt, VisibilityTimeout=0)
        raise
    done = Counter()
    for letter in letters:
        action = actions[letter.message_id]
        if action == "redrive":
            sqs.send_message(QueueUrl=queue, MessageBody=letter.body)
        elif action == "park":
            sqs.send_message(QueueUrl=parked, MessageBody=letter.body, MessageAttributes={
                "failure_reason": {"DataType": "String", "StringValue": letter.reason}})
        sqs.delete_message(QueueUrl=dlq, ReceiptHandle=letter.receipt)
        done[action] += 1
    book.note(", ".join(f"{action}: {n}" for action, n in sorted(done.items())) or "nothing to do")

    book.step("Verify: the redriven orders are recorded and the queue is empty")
    redriven = [x.order_id for x in letters if x.order_id and actions[x.message_id] == "redrive"]
    book.wait(lambda: len(shared.processed(args.endpoint, redriven)), lambda n: n == len(set(redriven)),
              "every redriven order in the table", args.settle_timeout,
              show=lambda n: f"redriven orders recorded: {n} of {len(set(redriven))}")
    return book.done("`make check LAB=09`; the DLQ alarm returns to OK within a few periods")


if __name__ == "__main__":
    sys.exit(shared.run_main(main))

"""Runbook: drain a backlog fast, then put the consumer's settings back.

    python labs/09-runbooks/runbooks/drain_backlog.py [--batch-size 20] [--concurrency 10] [--dry-run]

A backlog (thousands of orders waiting, the oldest minutes old) drains faster with bigger
batches (each invoke pays the downstream round trip once per batch) and more batches at once.
The script raises both, makes sure the mapping is enabled, prints the queue's depth and its
ApproximateAgeOfOldestMessage (CloudWatch) while they fall, and when the queue is empty puts the
normal settings back (the stack's BatchSize and MaximumConcurrency). Mind what is downstream:
more concurrency is more writes per second on the table. See drain_backlog.md.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _shared as shared  # noqa: E402


def oldest_age(endpoint: str) -> float | None:
    """The newest ApproximateAgeOfOldestMessage data point of the queue (seconds), if any."""
    cloudwatch = shared.aws.client("cloudwatch", endpoint)
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/SQS", MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": shared.QUEUE}], StartTime=now - timedelta(minutes=2),
        EndTime=now, Period=5, Statistics=["Maximum"])["Datapoints"]
    return max(points, key=lambda p: p["Timestamp"])["Maximum"] if points else None


def normal_settings(endpoint: str) -> dict:
    parameters = shared.stack_parameters(endpoint)
    return {"BatchSize": int(parameters.get("BatchSize", shared.NORMAL["BatchSize"])),
            "MaximumConcurrency": int(parameters.get("MaximumConcurrency", shared.NORMAL["MaximumConcurrency"]))}


def main(argv: list[str] | None = None, say=print) -> int:
    def extra(parser):
        # 20: a batch of 50 takes ~3 s of the function's 5 s unloaded and overran it on a busy
        # laptop; a batch that times out comes back whole, and its good orders log no reason
        parser.add_argument("--batch-size", type=int, default=20)
        parser.add_argument("--concurrency", type=int, default=10)
        parser.add_argument("--timeout", type=float, default=900)

    args = shared.arguments("Drain a backlog, then restore the consumer's settings.", argv, extra)
    if not 1 <= args.batch_size <= 10000 or not 2 <= args.concurrency <= 1000:
        raise RuntimeError("--batch-size must be 1..10000 and --concurrency 2..1000 (AWS's limits)")
    book = shared.Runbook("drain a backlog", args.endpoint, args.dry_run, say)
    book.step("Confirm the backlog: depth and age of the oldest message")
    book.say(f"   $ sqs.get_queue_attributes(QueueUrl=.../{shared.QUEUE}, AttributeNames=['ApproximateNumberOfMessages'])")
    book.say("   $ cloudwatch.get_metric_statistics(Namespace='AWS/SQS', MetricName='ApproximateAgeOfOldestMessage', "
             f"Dimensions=[{{'Name': 'QueueName', 'Value': {shared.QUEUE!r}}}], Period=5, Statistics=['Maximum'], ...)")
    uuid, normal = "<mapping UUID>", {"BatchSize": shared.NORMAL["BatchSize"],
                                      "MaximumConcurrency": shared.NORMAL["MaximumConcurrency"]}
    if not args.dry_run:
        book.note(f"{shared.depth(args.endpoint, shared.QUEUE)} message(s); oldest {oldest_age(args.endpoint)} s")
        uuid, normal = shared.mapping(args.endpoint)["UUID"], normal_settings(args.endpoint)
    book.step(f"Raise batch size to {args.batch_size} and concurrency to {args.concurrency}; enable the mapping")
    book.call("lambda", "update_event_source_mapping", UUID=uuid, BatchSize=args.batch_size,
              MaximumBatchingWindowInSeconds=1, ScalingConfig={"MaximumConcurrency": args.concurrency}, Enabled=True)
    book.step("Watch the age of the oldest message fall")
    started, dead_before = time.monotonic(), 0 if args.dry_run else shared.depth(args.endpoint, shared.DLQ)
    book.wait(lambda: (shared.depth(args.endpoint, shared.QUEUE), oldest_age(args.endpoint)),
              lambda seen: seen[0] == 0, "the queue to be empty", args.timeout, every=5,
              show=lambda seen: f"t+{time.monotonic() - started:5.0f} s  depth {seen[0]:6d}  "
                                f"oldest {seen[1] if seen[1] is not None else '-'} s")
    dead_now = 0 if args.dry_run else shared.depth(args.endpoint, shared.DLQ)
    if dead_now > dead_before:
        book.note(f"{dead_now - dead_before} message(s) went to {shared.DLQ} during the drain: a batch the function "
                  "cannot finish within its timeout times out whole. Next time use a smaller --batch-size; now "
                  "triage them (dlq_triage.md)")
    book.step(f"Put the normal settings back: batch {normal['BatchSize']}, concurrency {normal['MaximumConcurrency']}")
    book.call("lambda", "update_event_source_mapping", UUID=uuid, BatchSize=normal["BatchSize"],
              MaximumBatchingWindowInSeconds=shared.NORMAL["MaximumBatchingWindowInSeconds"],
              ScalingConfig={"MaximumConcurrency": normal["MaximumConcurrency"]})
    return book.done("`awslocal lambda list-event-source-mappings --function-name edalab-runbook-consumer` shows "
                     "BatchSize and MaximumConcurrency back; `make check LAB=09`")


if __name__ == "__main__":
    sys.exit(shared.run_main(main))

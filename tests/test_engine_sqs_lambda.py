"""SQS -> Lambda through an event source mapping: batches, partial failures, dead letters."""

from __future__ import annotations

import json
from collections import Counter

from edalab.waiting import wait_for
from support import bodies, create_function, create_queue, queue_depth, receive_all


def test_partial_batch_failures_retry_only_failed_records_then_dead_letter_them(engine, unique):
    lam, sqs = engine.client("lambda"), engine.client("sqs")
    out_url, _ = create_queue(sqs, f"esm-out-{unique}")
    dlq_url, dlq_arn = create_queue(sqs, f"esm-dlq-{unique}")
    max_receives = 3
    src_url, src_arn = create_queue(
        sqs,
        f"esm-src-{unique}",
        # longer than any batch takes, or SQS offers a batch again while it runs: AWS refuses a mapping
        # whose queue hides a message for less than the function's timeout, and cold starts come on top
        VisibilityTimeout=13,
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}),
    )
    name = f"probe-esm-{unique}"
    # A batch that overruns the timeout fails as a whole and comes back, good records too: that is
    # SQS's at-least-once, not partial batch responses, and a busy 2-core runner once took 2 s for one
    create_function(lam, name, "probe.py", timeout=10, env={"OUTPUT_QUEUE_URL": out_url})

    good = [f"order-{i}" for i in range(25)]
    poison = [f"poison-{i}" for i in range(3)]
    # messages are queued before the mapping exists, so the first polls see full batches
    for start in range(0, len(good + poison), 10):
        chunk = (good + poison)[start : start + 10]
        sqs.send_message_batch(
            QueueUrl=src_url, Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]
        )
    lam.create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=src_arn,
        BatchSize=10,
        MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    # a poison message moves on its 4th receive: 3 visibility timeouts (39 s) after the first
    dead = receive_all(sqs, dlq_url, expected=len(poison), timeout=90)
    assert sorted(m["Body"] for m in dead) == sorted(poison)

    reports = bodies(receive_all(sqs, out_url, expected=len(good) + len(poison) * max_receives, timeout=30))
    processed = Counter(r["body"] for r in reports if r["source"] == "sqs")
    failed_attempts = Counter(r["body"] for r in reports if r["source"] == "sqs-failed")
    # every good order was handled exactly once, on its first receive: failures did not drag it back
    again = {body: [r["receives"] for r in reports if r["body"] == body] for body, n in processed.items() if n > 1}
    assert processed == Counter(good), f"processed more than once (receive counts): {again}"
    assert all(r["receives"] == 1 for r in reports if r["source"] == "sqs")
    # each poison message was tried exactly maxReceiveCount times before it moved to the DLQ
    assert failed_attempts == Counter({body: max_receives for body in poison})
    # batching: at least one invocation carried more than one record
    assert max(r["batch"] for r in reports if r["source"] == "sqs") > 1
    # everything is accounted for: nothing left in the source queue
    wait_for(lambda: queue_depth(sqs, src_url), what="the source queue to drain", until=lambda n: n == 0)

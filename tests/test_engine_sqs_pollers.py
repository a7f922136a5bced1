"""Event source mappings on standard queues run two pollers side by side, as AWS runs several.

`edalab/plugins/sqs_pollers.py` adds pollers to LocalStack's one. These tests hold each batch
in the function for a moment and look at when invocations ran: on a standard queue two run
at once (in two execution environments) and every message is handled exactly once; on a FIFO
queue there is still one at a time; a disabled mapping stops all of its pollers.
"""

from __future__ import annotations

import json
from collections import Counter
from itertools import combinations

import pytest

from edalab.waiting import WaitTimedOut, wait_for
from support import create_function, create_queue, queue_depth

MESSAGES = 12


def overlapping(reports: list[dict]) -> list[tuple[dict, dict]]:
    return [(a, b) for a, b in combinations(reports, 2) if a["start"] < b["end"] and b["start"] < a["end"]]


def wire(engine, unique: str, *, fifo: bool) -> tuple[str, str, str]:
    """A source queue, an output queue and the recorder function; returns (src url, src arn, out url)."""
    lam, sqs = engine.client("lambda"), engine.client("sqs")
    out_url, _ = create_queue(sqs, f"poll-out-{unique}")
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    src_url, src_arn = create_queue(sqs, f"poll-src-{unique}" + (".fifo" if fifo else ""),
                                    VisibilityTimeout=30, **attributes)
    create_function(lam, f"poll-{unique}", "overlap_recorder.py", timeout=10,
                    env={"OUTPUT_QUEUE_URL": out_url, "HOLD_SECONDS": "0.5"})
    return src_url, src_arn, out_url


def send(sqs, url: str, fifo: bool, prefix: str = "m") -> list[str]:
    sent = [f"{prefix}-{n}" for n in range(MESSAGES)]
    for start in range(0, MESSAGES, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "MessageBody": body, **({"MessageGroupId": f"g{n % 2}"} if fifo else {})}
            for n, body in enumerate(sent[start:start + 10])])
    return sent


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
def test_standard_queues_get_two_batches_at_once_fifo_queues_one(engine, unique, fifo):
    lam, sqs = engine.client("lambda"), engine.client("sqs")
    src_url, src_arn, out_url = wire(engine, unique, fifo=fifo)
    sent = send(sqs, src_url, fifo)  # queued first: both pollers find work at once
    lam.create_event_source_mapping(FunctionName=f"poll-{unique}", EventSourceArn=src_arn, BatchSize=1)

    reports: list[dict] = []

    def collect() -> int:
        for message in sqs.receive_message(QueueUrl=out_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            reports.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=out_url, ReceiptHandle=message["ReceiptHandle"])
        return sum(len(r["bodies"]) for r in reports)

    wait_for(collect, what=f"{MESSAGES} messages handled", timeout=60, interval=0,
             until=lambda n: n >= MESSAGES)
    assert Counter(body for r in reports for body in r["bodies"]) == Counter(sent)  # each exactly once
    together = overlapping(reports)
    if fifo:
        assert together == []
    else:
        assert together, "no two invocations ran at the same time: one poller only?"
        assert any(a["pid"] != b["pid"] for a, b in together)  # two execution environments
    wait_for(lambda: queue_depth(sqs, src_url), what="the source queue to drain", until=lambda n: n == 0)


def test_a_disabled_mapping_stops_every_poller(engine, unique):
    lam, sqs = engine.client("lambda"), engine.client("sqs")
    src_url, src_arn, out_url = wire(engine, unique, fifo=False)
    uuid = lam.create_event_source_mapping(FunctionName=f"poll-{unique}", EventSourceArn=src_arn,
                                           BatchSize=1)["UUID"]
    wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"], what="the mapping to be Enabled",
             until=lambda state: state == "Enabled")
    lam.update_event_source_mapping(UUID=uuid, Enabled=False)
    wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"], what="the mapping to be Disabled",
             until=lambda state: state == "Disabled")

    sqs.send_message(QueueUrl=src_url, MessageBody=json.dumps("after-disable"))
    # an extra poller still running would take it within its 2 s idle pause; watch for 5 s
    with pytest.raises(WaitTimedOut):
        wait_for(lambda: queue_depth(sqs, src_url), what="a poller to take the message",
                 timeout=5, interval=0.5, until=lambda depth: depth == 0)
    received = sqs.receive_message(QueueUrl=src_url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in received] == [json.dumps("after-disable")]

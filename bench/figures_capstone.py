"""Figures for lab 11, the capstone: 2,000 feedback submissions through the API, their throughput
and their POST-to-stored latency, beside seed 003's figures from AWS and a baseline of the same
work that skips the API.

Why this exists: issue #17 asks `make bench` for the load run's throughput and p50/p95 POST to
stored, beside the seed's own figures (397 ms at 128 MB, 189 ms at 512 MB). The run is the lab's
own load generator (`labs/11-capstone-feedback/load.py`: 10 % invalid, 5 % duplicated, 1 %
unstorable) on the lab's reference solution with its own settings. Every figure comes from what
the engine recorded: latency = the item's `stored_at` minus the intake's `received_at`, one sample
per stored item (so the table's median is p50); throughput = items stored per second from the first
`received_at` to the last `stored_at`. The functions start cold (the lab is deployed just before),
as a real launch would: the first seconds wait for feedback-store's first environments, which is
most of the p95 (on a busy 2-core machine the first tenth of the run waited 3-5 s, the rest p95 ~0.6 s).

The seed's figures are the average response time of an API call measured with Postman (a CRUD
function reading and writing DynamoDB), not a queue's end-to-end time: they sit beside the
answer time of our POST (client-measured, the seed's measure) and, for scale, beside POST to stored.

The baselines, measured in the same run on the same engine: the same number of storable
submissions sent straight to the feedback queue as the intake sends them (each stamped with its
`received_at` as it goes), i.e. the pipeline without API Gateway and the intake function: once at
the rate the POSTs were accepted (beside the latency: what the API and the intake add), once all
at once (beside the throughput: how fast the queue and the store drain on their own, which shows
where the limit is). Call `capstone(engine)` from bench/run.py once every lab is deployed.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from figures import Figure

from edalab import aws, labs

AWS_SEED_003_MS = {128: 397.0, 512: 189.0}  # ../shared/seeds/003: average API response time (Postman)


def _seed(label: str) -> dict[str, list[float]]:
    return {f"AWS, seed 003, {label} at {mb} MB": [ms] for mb, ms in AWS_SEED_003_MS.items()}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def straight_to_queue(load_module, load, threads: int, tag: str, rate: float | None = None) -> tuple[list[float], float]:
    """A baseline: as many storable submissions as the load run stored, sent straight to the
    queue as the intake would send them, each stamped with its `received_at` as it goes; all at
    once (SendMessageBatch) or, with `rate`, one at a time at that many per second. Returns
    (latencies in ms, stored per second)."""
    sqs = aws.client("sqs", load.endpoint)
    run = f"{load.run}{tag}"
    count = len(load.of_kind("valid", "duplicate"))
    straight = load_module.LoadRun(run, load.endpoint, load.api_url, load.queue_url, load.dlq_url,
                                   load.support_queue_url, load.table, [])

    def entry(n: int) -> dict:
        correlation_id = f"load-{run}-{n:04d}"
        body = {**load_module.feedback(run, n), "feedback_id": str(uuid.uuid4()),
                "correlation_id": correlation_id, "received_at": _now_iso()}
        return {"Id": str(n % 10), "MessageBody": json.dumps(body), "MessageAttributes": {
            "correlation_id": {"DataType": "String", "StringValue": correlation_id}}}

    def batch(start: int) -> None:
        sqs.send_message_batch(QueueUrl=load.queue_url, Entries=[entry(n) for n in range(start, min(start + 10, count))])

    def paced(n: int) -> None:
        time.sleep(max(0.0, begun + n / rate - time.perf_counter()))
        message = entry(n)
        sqs.send_message(QueueUrl=load.queue_url, MessageBody=message["MessageBody"],
                         MessageAttributes=message["MessageAttributes"])

    begun = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        if rate is None:
            list(pool.map(batch, range(0, count, 10)))
        else:
            list(pool.map(paced, range(count)))
    items = load_module.settle(straight, timeout=600).items  # once none is left on the queue
    if len(items) != count:
        raise RuntimeError(f"of {count} submissions sent straight to the queue, {len(items)} were stored")
    latencies, throughput, _ = load_module.timings(items.values())
    load_module.clean_up(straight)
    return latencies, throughput


def capstone(engine) -> list[Figure]:
    lab = labs.find("11")
    labs.deploy(lab, engine.endpoint, solution=True)
    load_module = lab.load_module("load.py")
    count = int(os.environ.get("BENCH_CAPSTONE_SUBMISSIONS", str(load_module.SENT)))
    load = load_module.connect(engine.endpoint, count=count)
    started = time.perf_counter()
    load_module.send(load)
    settled = load_module.settle(load, timeout=900)
    accounting = load_module.account(load, settled)
    wall = time.perf_counter() - started
    load_module.clean_up(load)
    if accounting.problems or not accounting.balanced:
        raise RuntimeError("the capstone's load run did not add up: " + "; ".join(accounting.problems[:5]))
    # the same arrivals without the API: at the rate the POSTs were accepted (for latency), and
    # all at once (how fast the queue and the store alone drain them)
    accepted_rate = len(load.accepted) / load.posted_seconds
    paced_latencies, _ = straight_to_queue(load_module, load, load_module.THREADS, "p", rate=accepted_rate)
    _, burst_rate = straight_to_queue(load_module, load, load_module.THREADS, "b")
    label = f"lab 11, {count:,} submissions through the API from cold ({load_module.THREADS} threads, {wall:.0f} s)"
    return [
        Figure(f"{label}: POST → stored (median = p50)", "ms", accounting.latencies_ms,
               {f"straight to the queue at the same {accepted_rate:.0f}/s": paced_latencies,
                **_seed("API response")}),
        Figure(f"{label}: stored per second", "msg/s", [accounting.throughput],
               {"straight to the queue, all at once": [burst_rate]}),
        Figure(f"{label}: POST → 202 answer, as the client saw it", "ms", accounting.answered_ms,
               _seed("API response")),
    ]

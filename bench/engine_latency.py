"""Benchmark: how fast the host engine starts, bootstraps and moves an event.

Why this exists: speed belongs in benchmarks, not in timed tests. This measures, on a fresh
host engine of its own (free port, temporary state folder):
  - engine start to healthy,
  - the bootstrap of every lab stack from nothing, and again when nothing changed,
  - a warm synchronous Lambda invoke,
  - SQS send -> handler (through an event source mapping) -> reply seen by the sender,
  - `make reset`: the engine restarted and every lab redeployed.
Each figure is the median and p95 over several runs. Run with `make bench`.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from edalab import aws, labs
from edalab.engine.host import HostEngine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from conftest import free_port  # noqa: E402
from support import create_function, create_queue  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def summary(samples_ms: list[float]) -> dict:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1), "runs": len(ordered)}


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def measure_start(runs: int) -> tuple[dict, HostEngine]:
    samples, engine = [], None
    for i in range(runs):
        engine = HostEngine(Path(tempfile.mkdtemp(prefix="edalab-bench-")), free_port())
        samples.append(engine.start() * 1000)
        if i < runs - 1:
            engine.stop()
    return summary(samples), engine


def measure_invoke(endpoint: str, runs: int) -> dict:
    lam = aws.client("lambda", endpoint)
    create_function(lam, "bench-echo", "probe.py")
    lam.invoke(FunctionName="bench-echo", Payload=b'{"echo": 0}')  # cold start, not counted
    return summary([timed(lambda: lam.invoke(FunctionName="bench-echo", Payload=b'{"echo": 1}')) for _ in range(runs)])


def measure_sqs_to_handler(endpoint: str, runs: int) -> dict:
    lam, sqs = aws.client("lambda", endpoint), aws.client("sqs", endpoint)
    out_url, _ = create_queue(sqs, "bench-out")
    src_url, src_arn = create_queue(sqs, "bench-src", VisibilityTimeout=30)
    create_function(lam, "bench-sqs", "probe.py", env={"OUTPUT_QUEUE_URL": out_url})
    lam.create_event_source_mapping(FunctionName="bench-sqs", EventSourceArn=src_arn, BatchSize=1)
    samples = []
    for i in range(runs + 1):
        time.sleep(1.0)  # let the poller go idle, as between real events
        started = time.perf_counter()
        sqs.send_message(QueueUrl=src_url, MessageBody=json.dumps({"n": i}))
        while not (messages := sqs.receive_message(QueueUrl=out_url, WaitTimeSeconds=5).get("Messages")):
            pass
        elapsed = (time.perf_counter() - started) * 1000
        sqs.delete_message(QueueUrl=out_url, ReceiptHandle=messages[0]["ReceiptHandle"])
        if i:  # the first one includes the function's cold start
            samples.append(elapsed)
    return summary(samples)


def main() -> None:
    results: dict[str, dict] = {}
    results["engine start to healthy"], engine = measure_start(runs=3)
    try:
        endpoint = engine.endpoint
        results["bootstrap, cold"] = summary([timed(lambda: labs.deploy_all(endpoint))])
        results["bootstrap, nothing changed"] = summary([timed(lambda: labs.deploy_all(endpoint)) for _ in range(3)])
        results["warm Lambda invoke"] = measure_invoke(endpoint, runs=50)
        results["SQS send -> handler -> reply"] = measure_sqs_to_handler(endpoint, runs=15)
        results["reset (restart + bootstrap)"] = summary(
            [timed(lambda: (engine.stop(), engine.start(), labs.deploy_all(endpoint))) for _ in range(2)]
        )
    finally:
        engine.stop()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))
    width = max(map(len, results))
    print(f"{'measure':<{width}}  {'median':>10}  {'p95':>10}  runs")
    for name, r in results.items():
        print(f"{name:<{width}}  {r['median_ms']:>8.1f}ms  {r['p95_ms']:>8.1f}ms  {r['runs']}")


if __name__ == "__main__":
    main()

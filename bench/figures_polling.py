"""Figures for SQS event source mappings: a message's trip to an idle mapping's function, and
what idle mappings cost the engine's CPU, beside LocalStack's stock poller in the same run.

Why this exists: issue #13 asks that a message reach an idle mapping's function within ~50 ms
(median) with no busy loop (10 idle mappings under 2 % of a core). The stock poller is measured
on a second engine started with EDALAB_STOCK_SERVICES=lambda, so both numbers come from the same
machine at the same time. Call `polling(engine)` from bench/run.py once every lab is deployed on
`engine`; it starts (and stops) two fresh engines of its own for the rest.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psutil
from figures import Figure
from support import create_function, create_queue, free_port, receive_all

from edalab import aws
from edalab.engine.host import HostEngine
from edalab.waiting import wait_for

IDLE_BEFORE_EACH_SEND_SECONDS = 1.0  # as between real events: a stock poller has backed off by then
IDLE_MAPPINGS = 10
CPU_WINDOW_SECONDS = 5.0


@contextmanager
def _engine(stock_lambda: bool):
    """A fresh engine with no labs; with LocalStack's own Lambda behaviour when `stock_lambda`."""
    previous = os.environ.get("EDALAB_STOCK_SERVICES")
    if stock_lambda:
        os.environ["EDALAB_STOCK_SERVICES"] = ",".join(filter(None, [previous, "lambda"]))
    engine = HostEngine(Path(tempfile.mkdtemp(prefix="edalab-bench-polling-")), free_port())
    try:
        engine.start()
    finally:
        if previous is None:
            os.environ.pop("EDALAB_STOCK_SERVICES", None)
        else:
            os.environ["EDALAB_STOCK_SERVICES"] = previous
    try:
        yield engine
    finally:
        engine.stop()


def _enabled(lam, mapping: str) -> None:
    wait_for(lambda: lam.get_event_source_mapping(UUID=mapping)["State"], what=f"mapping {mapping} Enabled",
             until=lambda state: state == "Enabled")


def idle_trip_ms(endpoint: str, runs: int) -> list[float]:
    """Send -> the function starts (the handler's own clock), each after an idle second."""
    lam, sqs = aws.client("lambda", endpoint), aws.client("sqs", endpoint)
    out_url, _ = create_queue(sqs, "bench-poll-out")
    src_url, src_arn = create_queue(sqs, "bench-poll-src", VisibilityTimeout=30)
    create_function(lam, "bench-poll", "batch_timer.py", env={"OUTPUT_QUEUE_URL": out_url})
    _enabled(lam, lam.create_event_source_mapping(FunctionName="bench-poll", EventSourceArn=src_arn,
                                                  BatchSize=1)["UUID"])
    sqs.send_message(QueueUrl=src_url, MessageBody="warm-up")  # the first invoke starts the function
    receive_all(sqs, out_url, expected=1)
    samples = []
    for _ in range(runs):
        time.sleep(IDLE_BEFORE_EACH_SEND_SECONDS)
        sent = time.time()
        sqs.send_message(QueueUrl=src_url, MessageBody="{}")
        report = json.loads(receive_all(sqs, out_url, expected=1)[0]["Body"])
        samples.append((report["start"] - sent) * 1000)
    return samples


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of the engine and its function processes."""
    total = 0.0
    engine = psutil.Process(pid)
    for proc in [engine, *engine.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass  # a function process that ended meanwhile
    return total


def idle_cpu_percent(engine: HostEngine, seconds: float) -> list[float]:
    """% of one core the engine uses while nothing is sent, one sample per CPU_WINDOW_SECONDS."""
    pid, samples = engine.pid(), []
    for _ in range(max(1, round(seconds / CPU_WINDOW_SECONDS))):
        before, started = _cpu_seconds(pid), time.monotonic()
        time.sleep(CPU_WINDOW_SECONDS)
        samples.append(100 * (_cpu_seconds(pid) - before) / (time.monotonic() - started))
    return samples


def idle_queues(engine: HostEngine, count: int) -> list[str]:
    """`count` empty SQS queues; returns their ARNs."""
    sqs = aws.client("sqs", engine.endpoint)
    return [create_queue(sqs, f"bench-idle-{n}")[1] for n in range(count)]


def map_idle_queues(engine: HostEngine, queue_arns: list[str]) -> None:
    """Maps each queue to one function and waits until every mapping is Enabled."""
    lam, sqs = aws.client("lambda", engine.endpoint), aws.client("sqs", engine.endpoint)
    out_url, _ = create_queue(sqs, "bench-idle-out")
    create_function(lam, "bench-idle", "batch_timer.py", env={"OUTPUT_QUEUE_URL": out_url})
    for arn in queue_arns:
        _enabled(lam, lam.create_event_source_mapping(FunctionName="bench-idle", EventSourceArn=arn)["UUID"])


def polling(lab_engine: HostEngine, runs: int = 15, idle_seconds: float = 20.0) -> list[Figure]:
    """Every figure of this module; `lab_engine` has every lab deployed."""
    measured = [Figure("engine idle CPU, every lab deployed", "% core", idle_cpu_percent(lab_engine, idle_seconds))]
    for stock, label in ((False, ""), (True, ", LocalStack's stock poller")):
        with _engine(stock_lambda=stock) as engine:
            trip = idle_trip_ms(engine.endpoint, runs)
            queue_arns = idle_queues(engine, IDLE_MAPPINGS)
            if not stock:  # what the queues alone cost (SQS's own metrics), for the mappings' share
                measured.append(Figure(f"engine idle CPU, {IDLE_MAPPINGS} SQS queues, no mapping", "% core",
                                       idle_cpu_percent(engine, idle_seconds)))
            map_idle_queues(engine, queue_arns)
            cpu = idle_cpu_percent(engine, idle_seconds)
        goal_trip, goal_cpu = ("", "") if stock else (" (goal: 50 ms)", " (goal: < 2 %)")
        measured += [Figure(f"SQS send -> handler, idle mapping{label}{goal_trip}", "ms", trip),
                     Figure(f"engine idle CPU, {IDLE_MAPPINGS} idle SQS mappings{label}{goal_cpu}", "% core", cpu)]
    return measured

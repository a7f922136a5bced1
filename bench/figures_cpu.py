"""Benchmark figures of the Lambda CPU share (issue #15, lab 08's "memory is honest"): how long a
CPU-bound handler runs at 128, 512 and 1,769 MB with the share on (a function tagged
edalab:cpu-share=proportional), beside the same handler at the same memory uncapped (untagged)
in the same run, and beside seed 003's figures from AWS (397 ms at 128 MB, 189 ms at 512 MB).

The handler times its own work (what Lambda's Duration measures, minus the runtime's hand-over):
a fixed loop of about 30 ms on one uncapped core of the bench machine. Seed 003's workload was an
API's CRUD function (partly waiting on DynamoDB), so it gained less from memory than pure CPU work
does; it is shown for scale, not as the same workload.

Each memory size also gets the share of a core the handler obtained (its CPU time over its
elapsed time), which other load on the machine does not inflate as it does durations.

Call: `figures_cpu.cpu_share(endpoint, runs=10)` on an engine of the bench's own.
"""

from __future__ import annotations

import json
import urllib.request

from figures import Figure
from support import ROLE, zip_source

from edalab import aws
from edalab.plugins.lambda_.cpu_share import ROUTE, TAG, TAG_VALUE, vcpu_for
from edalab.waiting import wait_for

MEMORY_MB = (128, 512, 1769)
AWS_SEED_003_MS = {128: 397.0, 512: 189.0}  # ../shared/seeds/003: average response time on AWS
WORK_LOOPS = 360_000  # ~30 ms of one uncapped core on the 2-core bench machine

CPU_BOUND_HANDLER = f'''
import time

def handler(event, context):
    started, cpu_started = time.perf_counter(), time.process_time()
    total = 0
    for number in range({WORK_LOOPS}):
        total += number * number % 7
    return {{"work_ms": (time.perf_counter() - started) * 1000,
            "cpu_ms": (time.process_time() - cpu_started) * 1000, "total": total}}
'''


def _function(lam, name: str, memory_mb: int, tagged: bool) -> None:
    lam.create_function(
        FunctionName=name, Runtime="python3.13", Handler="app.handler", Role=ROLE, MemorySize=memory_mb,
        Timeout=60, Code={"ZipFile": zip_source(CPU_BOUND_HANDLER)},
        Tags={TAG: TAG_VALUE} if tagged else {},
    )
    wait_for(lambda: lam.get_function(FunctionName=name)["Configuration"]["State"],
             what=f"function {name} to become Active", until=lambda state: state == "Active")


def _work(lam, name: str) -> dict:
    answer = lam.invoke(FunctionName=name, Payload=b"{}")
    body = json.loads(answer["Payload"].read())
    if "FunctionError" in answer:
        raise RuntimeError(f"{name} failed: {body}")
    return body


def _side_by_side(lam, names: tuple[str, str], runs: int) -> tuple[list[dict], list[dict]]:
    """Each function's answers, taken in turns so that other load on the machine hits both alike."""
    for name in names:
        _work(lam, name)  # the cold start (init runs on at least one vCPU) is not counted
    pairs = [(_work(lam, names[0]), _work(lam, names[1])) for _ in range(runs)]
    return [first for first, _ in pairs], [second for _, second in pairs]


def _ms(answers: list[dict]) -> list[float]:
    return [answer["work_ms"] for answer in answers]


def _core_percent(answers: list[dict]) -> list[float]:
    """The share of one core the handler got while it worked: CPU time / elapsed time. Unlike the
    duration, it does not grow when other programs load the machine (until they take more)."""
    return [100 * answer["cpu_ms"] / answer["work_ms"] for answer in answers]


def cpu_share(endpoint: str, runs: int) -> list[Figure]:
    with urllib.request.urlopen(endpoint + ROUTE, timeout=10) as answer:
        policy = json.loads(answer.read())
    mode = policy["mode"] if policy["mode"] != "unavailable" else "unavailable, so not limited"
    lam = aws.client("lambda", endpoint)
    measured = []
    for memory in MEMORY_MB:
        shared, uncapped = f"bench-cpu-{memory}-share", f"bench-cpu-{memory}-uncapped"
        _function(lam, shared, memory, tagged=True)
        _function(lam, uncapped, memory, tagged=False)
        share, uncapped_answers = _side_by_side(lam, (shared, uncapped), runs)
        baselines = {"same handler uncapped": _ms(uncapped_answers)}
        if memory in AWS_SEED_003_MS:
            baselines["AWS, seed 003 (a CRUD API function)"] = [AWS_SEED_003_MS[memory]]
        measured.append(Figure(f"CPU-bound handler at {memory:,} MB, CPU share on ({mode})", "ms",
                               _ms(share), baselines))
        goal = 100 * vcpu_for(memory)
        measured.append(Figure(f"core share it got at {memory:,} MB (goal: {goal:.1f} %)", "% core",
                               _core_percent(share), {"same handler uncapped": _core_percent(uncapped_answers)}))
        for name in (shared, uncapped):
            lam.delete_function(FunctionName=name)
    return measured

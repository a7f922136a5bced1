"""Benchmark figures of the engine's start (issue #18: start to healthy ≤ 1.5 s on 2 cores), each
beside stock LocalStack measured in the same run, and of the first deploy after a start.

- start to healthy: `HostEngine.start()` as `make up` runs it (the state folder reused from the
  previous start, as `.edalab/` is), interleaved with stock LocalStack started from the same
  virtualenv on a folder of its own: LocalStack's defaults, none of our settings, and our plugins
  standing aside through their switches (EDALAB_STOCK_SERVICES=..., EDALAB_MAIL=0,
  EDALAB_SQS_METRICS_COALESCE=0). Both are timed from spawning the process to the first answer
  of `/_localstack/health` (edalab/engine/health.py). The figure before #18 is shown for scale.
- the CPU the engine process used until healthy (user + system): the same work, but unlike the
  wall time it hardly grows when other programs load the machine.
- the first CloudFormation deploy right after a start (lab 02: S3, SQS, Lambda, IAM), beside the
  same deploy once the engine is warm (its stack deleted and deployed again) and beside a first
  deploy in a new state folder without the shared service catalog (what every new state folder
  paid before #18: LocalStack built its catalog on the first request).

Call: `figures_start.start(runs=7)` and `figures_start.first_deploy(runs=3)`; each starts and
stops engines of its own (free ports, temporary state folders).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from figures import Figure
from support import free_port

from edalab import aws, bootstrap, labs
from edalab.engine.health import wait_healthy
from edalab.engine.host import HostEngine

BEFORE_18_MS = 2506.3  # `make bench` of 06:15 on 2 cores (bench/results), before the start was cut
# every switch with which our plugins stand aside (edalab/plugins/__init__.py::uses_stock and the hooks)
OUR_PLUGINS_ASIDE = {
    "EDALAB_STOCK_SERVICES": "lambda,sqs,sns,usage,reset,logs,cloudwatch,events,dynamodb,faststart",
    "EDALAB_MAIL": "0",
    "EDALAB_SQS_METRICS_COALESCE": "0",
}
DEPLOYED_LAB = "02"


def stock_environment(port: int, state: Path) -> dict[str, str]:
    """LocalStack as it comes: only what a host-mode start on this machine needs (where to listen
    and keep files, no DNS server on port 53, nothing fetched from the internet)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCALSTACK_", "EDALAB_"))}
    env.update({
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "LOCALSTACK_HOST": f"localhost:{port}",
        "FILESYSTEM_ROOT": str(state / "filesystem"),
        "OVERRIDE_IN_DOCKER": "0",
        "DNS_ADDRESS": "0",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DISABLE_EVENTS": "1",
        **OUR_PLUGINS_ASIDE,
    })
    return env


def _cpu_ms(pid: int) -> float:
    used = psutil.Process(pid).cpu_times()
    return (used.user + used.system) * 1000


def _start_ours(state: Path) -> tuple[float, float]:
    engine = HostEngine(state, free_port())
    wall_ms = engine.start() * 1000
    cpu_ms = _cpu_ms(engine.pid())
    engine.stop(graceful=False)
    return wall_ms, cpu_ms


def _start_stock(state: Path) -> tuple[float, float]:
    port = free_port()
    state.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(state / "engine.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "localstack.runtime.main"], env=stock_environment(port, state),
                                   cwd=state, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        wait_healthy(f"http://localhost:{port}", 90, alive=lambda: process.poll() is None)
        wall_ms = (time.monotonic() - started) * 1000
        return wall_ms, _cpu_ms(process.pid)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def start(runs: int) -> list[Figure]:
    ours_folder = Path(tempfile.mkdtemp(prefix="edalab-bench-start-"))
    stock_folder = Path(tempfile.mkdtemp(prefix="edalab-bench-stock-"))
    _start_ours(ours_folder)  # a first start fills a new state folder (certificate, caches); not counted
    _start_stock(stock_folder)
    ours, stock = [], []
    for _ in range(runs):  # taken in turns, so that other load on the machine hits both alike
        ours.append(_start_ours(ours_folder))
        stock.append(_start_stock(stock_folder))
    return [
        Figure("engine start to healthy, state folder reused as make up does (goal: 1.5 s)", "ms",
               [wall for wall, _ in ours],
               {"stock LocalStack, same run": [wall for wall, _ in stock], "before #18": [BEFORE_18_MS]}),
        Figure("engine CPU used until healthy", "ms", [cpu for _, cpu in ours],
               {"stock LocalStack, same run": [cpu for _, cpu in stock]}),
    ]


def _deploy_ms(endpoint: str) -> float:
    started = time.perf_counter()
    labs.deploy(labs.find(DEPLOYED_LAB), endpoint, say=lambda text: None)
    return (time.perf_counter() - started) * 1000


def _first_and_warm_deploy(state: Path) -> tuple[float, float]:
    engine = HostEngine(state, free_port())
    engine.start()
    try:
        first = _deploy_ms(engine.endpoint)
        cfn = aws.client("cloudformation", engine.endpoint)
        stack = labs.find(DEPLOYED_LAB).stack.name
        cfn.delete_stack(StackName=stack)
        bootstrap._wait_deleted(cfn, stack, 120)
        return first, _deploy_ms(engine.endpoint)
    finally:
        engine.stop(graceful=False)


def _first_deploy_without_shared_catalog() -> float:
    previous = os.environ.get("EDALAB_CACHE_DIR")
    os.environ["EDALAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="edalab-bench-no-cache-")  # empty: nothing to hand over
    try:
        engine = HostEngine(Path(tempfile.mkdtemp(prefix="edalab-bench-new-")), free_port())
        engine.start()
        try:
            return _deploy_ms(engine.endpoint)
        finally:
            engine.stop(graceful=False)
    finally:
        if previous is None:
            os.environ.pop("EDALAB_CACHE_DIR")
        else:
            os.environ["EDALAB_CACHE_DIR"] = previous


def first_deploy(runs: int) -> list[Figure]:
    state = Path(tempfile.mkdtemp(prefix="edalab-bench-deploy-"))
    _start_ours(state)  # the state folder as `make up` finds it after a first start
    pairs = [_first_and_warm_deploy(state) for _ in range(runs)]
    new_folder = [_first_deploy_without_shared_catalog() for _ in range(runs)]
    return [Figure(f"first deploy after start (lab {DEPLOYED_LAB})", "ms", [first for first, _ in pairs],
                   {"same deploy, engine warm": [warm for _, warm in pairs],
                    "new state folder, no shared service catalog (before #18)": new_folder})]

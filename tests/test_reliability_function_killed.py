"""Reliability: a function process killed in the middle of a batch loses nothing.

Lab 02's pipeline under a steady stream of uploads; the upload processor's process is killed
with SIGKILL while it works on a batch. The invocation fails (`Runtime.ExitError`), its
messages stay on the queue, come back after the visibility timeout and are processed by a
fresh process: every upload ends PROCESSED, none in the dead-letter queue.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from edalab import bootstrap, labs
from edalab.waiting import wait_for
from support import deploy_lab, function_pids

PROCESSOR = "edalab-upload-processor"
UPLOAD_THREADS = 4
MAX_UPLOADS = 3000  # the stream stops as soon as a kill has landed inside an invocation
KILL_SPACING = 6.0  # seconds between kills while none is seen to have landed (its log line is on its way)
GOOD = {"order_id": "K", "customer": "Kill", "items": [{"sku": "a", "qty": 1, "unit_price": 3}]}


@pytest.fixture(scope="module")
def pipeline(lab_engine):
    if lab_engine.host is None:
        pytest.skip("needs the host engine, whose function processes the test can reach")
    lab = labs.find("02")
    deploy_lab(lab, lab_engine.endpoint, solution=True)
    return lab_engine, bootstrap.stack_outputs(lab.stack.name, lab_engine.endpoint)


def process_age(pid: int) -> float:
    try:
        return time.time() - psutil.Process(pid).create_time()
    except psutil.Error:
        return 0.0


def run_statuses(ddb, table: str, run: str) -> dict[str, dict]:
    items = [i for page in ddb.get_paginator("scan").paginate(TableName=table) for i in page["Items"]]
    return {i["key"]["S"]: i for i in items if f"/kill-{run}/" in i["key"]["S"]}


class Progress:
    """The run's statuses, whose repr (what a timeout prints) counts them by status and attempt
    and names the uploads not yet PROCESSED, instead of printing every item."""

    def __init__(self, found: dict[str, dict], keys: list[str], kills: int):
        self.found, self.kills = found, kills
        self.processed = sum(i["status"]["S"] == "PROCESSED" for i in found.values())
        self.counts = Counter((i["status"]["S"], int(i.get("attempt", {}).get("N", 0))) for i in found.values())
        self.missing = [key for key in keys if found.get(key, {}).get("status", {}).get("S") != "PROCESSED"]

    def __repr__(self) -> str:
        return (f"{self.processed} PROCESSED after {self.kills} kill(s); by (status, attempt): {dict(self.counts)}; "
                f"{len(self.missing)} not PROCESSED, e.g. {self.missing[:5]}")


def exit_errors(logs, since_ms: int) -> int:
    """Invocations our executor reported as ended by the process dying, since `since_ms`."""
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=f"/aws/lambda/{PROCESSOR}",
                                                             startTime=since_ms)
    return sum("Runtime exited with error" in e["message"] for page in pages for e in page["events"])


def test_a_function_process_killed_mid_batch_loses_nothing(pipeline):
    engine, out = pipeline
    s3, ddb, sqs, logs = (engine.client(s) for s in ("s3", "dynamodb", "sqs", "logs"))
    run = uuid.uuid4().hex[:8]
    keys: list[str] = []
    enough = threading.Event()
    started_ms = int(time.time() * 1000)

    numbers = itertools.count()

    def upload_until_enough() -> None:
        """A steady stream of uploads (from several threads: the processor then has full
        batches, busy nearly all the time) until a kill has landed inside an invocation."""
        while not enough.is_set() and (n := next(numbers)) < MAX_UPLOADS:
            key = f"incoming/kill-{run}/{n:04d}.json"
            s3.put_object(Bucket=out["UploadsBucket"], Key=key, Body=json.dumps({**GOOD, "order_id": key}))
            keys.append(key)

    with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
        uploading = [pool.submit(upload_until_enough) for _ in range(UPLOAD_THREADS)]
        wait_for(lambda: len(run_statuses(ddb, out["StatusTable"], run)), what="the first uploads processed",
                 until=lambda n: n >= 20)
        # A kill may land between invocations (the next invoke then starts a new process, and
        # nothing fails); kill again until one lands inside an invocation. Only processes well
        # past their start (imports take up to a second here under load) are killed: a kill
        # during a start fails the start, not an invocation. The executor's "Runtime exited"
        # line reaches the log group some time after the kill (seconds on a loaded machine), so
        # kills are KILL_SPACING apart: killing again meanwhile would fail batch after batch, and
        # a message failed three times would be dead-lettered, as the lab's redrive policy says.
        kills: list[float] = []

        def landed_or_kill_again() -> int:
            landed = exit_errors(logs, started_ms)
            if not landed and (not kills or time.monotonic() - kills[-1] >= KILL_SPACING):
                if all(u.done() for u in uploading):
                    pytest.fail(f"no kill landed inside an invocation in {len(keys)} uploads")
                victims = [pid for pid in function_pids(engine, PROCESSOR) if process_age(pid) >= 2]
                for pid in victims:
                    os.killpg(pid, signal.SIGKILL)
                if victims:
                    kills.append(time.monotonic())
            return landed

        wait_for(landed_or_kill_again, what="a kill to land inside an invocation", timeout=90, interval=0.3)
        enough.set()
        for u in uploading:
            u.result()

    def progress() -> Progress:
        return Progress(run_statuses(ddb, out["StatusTable"], run), keys, len(kills))

    statuses = wait_for(progress, what=f"all {len(keys)} uploads PROCESSED", timeout=120, interval=1,
                        until=lambda now: now.processed == len(keys)).found
    assert set(statuses) == set(keys)
    # the killed batch's messages came back after the visibility timeout: a second receive
    assert any(int(i["attempt"]["N"]) >= 2 for i in statuses.values())
    dead = sqs.receive_message(QueueUrl=out["DeadLetterQueueUrl"], MaxNumberOfMessages=10,
                               VisibilityTimeout=0, WaitTimeSeconds=1).get("Messages", [])
    assert not [m for m in dead if f"/kill-{run}/" in m["Body"]]

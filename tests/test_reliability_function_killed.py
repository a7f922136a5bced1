"""Reliability: a function process killed in the middle of a batch loses nothing.

Lab 02's pipeline under a steady stream of uploads; the upload processor's process is killed
with SIGKILL while it works on a batch. The invocation fails (`Runtime.ExitError`), its
messages stay on the queue, come back after the visibility timeout and are processed by a
fresh process: every upload ends PROCESSED, none in the dead-letter queue.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from edalab import bootstrap, labs
from edalab.waiting import wait_for
from support import deploy_lab, function_pids

PROCESSOR = "edalab-upload-processor"
UPLOADS = 300
GOOD = {"order_id": "K", "customer": "Kill", "items": [{"sku": "a", "qty": 1, "unit_price": 3}]}


@pytest.fixture(scope="module")
def pipeline(lab_engine):
    if lab_engine.host is None:
        pytest.skip("needs the host engine, whose function processes the test can reach")
    lab = labs.find("02")
    deploy_lab(lab, lab_engine.endpoint, solution=True)
    return lab_engine, bootstrap.stack_outputs(lab.stack.name, lab_engine.endpoint)


def run_statuses(ddb, table: str, run: str) -> dict[str, dict]:
    items = [i for page in ddb.get_paginator("scan").paginate(TableName=table) for i in page["Items"]]
    return {i["key"]["S"]: i for i in items if f"/kill-{run}/" in i["key"]["S"]}


def exit_errors(logs, since_ms: int) -> int:
    """Invocations our executor reported as ended by the process dying, since `since_ms`."""
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=f"/aws/lambda/{PROCESSOR}",
                                                             startTime=since_ms)
    return sum("Runtime exited with error" in e["message"] for page in pages for e in page["events"])


def test_a_function_process_killed_mid_batch_loses_nothing(pipeline):
    engine, out = pipeline
    s3, ddb, sqs, logs = (engine.client(s) for s in ("s3", "dynamodb", "sqs", "logs"))
    run = uuid.uuid4().hex[:8]
    keys = [f"incoming/kill-{run}/{n:03d}.json" for n in range(UPLOADS)]
    started_ms = int(time.time() * 1000)

    with ThreadPoolExecutor(max_workers=2) as pool:
        uploading = pool.map(lambda key: s3.put_object(Bucket=out["UploadsBucket"], Key=key,
                                                       Body=json.dumps({**GOOD, "order_id": key})), keys)
        wait_for(lambda: len(run_statuses(ddb, out["StatusTable"], run)), what="the first uploads processed",
                 until=lambda n: n >= 20)
        # Kill until a kill lands inside an invocation (the process is busy nearly all the time).
        for _ in range(5):
            for pid in wait_for(lambda: function_pids(engine, PROCESSOR), what="a running upload processor process"):
                os.killpg(pid, signal.SIGKILL)
            try:
                wait_for(lambda: exit_errors(logs, started_ms), what="an invocation ended by the kill",
                         timeout=5, interval=0.5)
                break
            except AssertionError:
                continue
        else:
            pytest.fail("five kills never landed inside an invocation")
        list(uploading)

    statuses = wait_for(lambda: run_statuses(ddb, out["StatusTable"], run), what=f"all {UPLOADS} uploads PROCESSED",
                        timeout=120, interval=1,
                        until=lambda found: sum(i["status"]["S"] == "PROCESSED" for i in found.values()) == UPLOADS)
    assert set(statuses) == set(keys)
    # the killed batch's messages came back after the visibility timeout: a second receive
    assert any(int(i["attempt"]["N"]) >= 2 for i in statuses.values())
    dead = sqs.receive_message(QueueUrl=out["DeadLetterQueueUrl"], MaxNumberOfMessages=10,
                               VisibilityTimeout=0, WaitTimeSeconds=1).get("Messages", [])
    assert not [m for m in dead if f"/kill-{run}/" in m["Body"]]

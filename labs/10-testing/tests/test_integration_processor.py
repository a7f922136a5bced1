"""Integration tests: the deployed function against the real bucket and table of the running
engine (`make up`), called with an event built by edalab.testing.events. They prove what unit
tests cannot (the code runs in Lambda, with its role, its environment, its timeout) and still
skip the wiring around it: the notification and the queue are the end-to-end test's job.

The files go under it/ (no notification watches it), so nothing is retried or dead-lettered;
each test removes what it wrote.

Run them (engine up):  .venv/bin/python -m pytest labs/10-testing/tests/test_integration_processor.py -q
"""

import json
import time
import uuid

import pytest

from edalab.testing import events
from edalab.testing import integration as it

STACK = "edalab-10-testing"


@pytest.fixture
def stack():
    out = it.stack_outputs(STACK)  # fails saying `make up` when the lab is not deployed
    written = []
    yield out, written
    for key in written:
        for stored in (key, key.replace("it/", "processed/", 1)):
            it.client("s3").delete_object(Bucket=out["UploadsBucket"], Key=stored)
        it.client("dynamodb").delete_item(TableName=out["StatusTable"], Key={"key": {"S": key}})


def invoke(out, *keys):
    batch = events.sqs_batch([events.s3_put(out["UploadsBucket"], key) for key in keys], queue="edalab-tested-uploads")
    reply = it.client("lambda").invoke(FunctionName=out["ProcessorName"], Payload=json.dumps(batch).encode())
    assert "FunctionError" not in reply, reply["Payload"].read()
    return batch, json.loads(reply["Payload"].read())


def test_the_deployed_function_processes_an_upload_and_logs_its_key(stack):
    out, written = stack
    key, started = f"it/{uuid.uuid4().hex[:8]}.json", time.time()
    written.append(key)
    order = {"order_id": "IT-1", "customer": "Ada", "items": [{"sku": "bulb", "qty": 3, "unit_price": 0.1}]}
    it.client("s3").put_object(Bucket=out["UploadsBucket"], Key=key, Body=json.dumps(order))

    _, reply = invoke(out, key)
    assert reply == {"batchItemFailures": []}
    assert it.wait_for_item(out["StatusTable"], {"key": key})["status"] == "PROCESSED"
    summary = json.loads(it.wait_for_object(out["UploadsBucket"], key.replace("it/", "processed/", 1)))
    assert summary["total"] == 0.3
    # the log line with the correlation id (here, the file's key) shows which invocation did it
    line = json.loads(it.wait_for_log_line(f"/aws/lambda/{out['ProcessorName']}", f'"processed": "{key}"',
                                           since=started))
    assert line["attempt"] == 1


def test_the_deployed_function_reports_only_the_invalid_record(stack):
    out, written = stack
    good, bad = f"it/{uuid.uuid4().hex[:8]}-good.json", f"it/{uuid.uuid4().hex[:8]}-bad.json"
    written += [good, bad]
    it.client("s3").put_object(Bucket=out["UploadsBucket"], Key=good, Body=json.dumps(
        {"order_id": "IT-2", "customer": "Bo", "items": [{"sku": "a", "qty": 1, "unit_price": 1}]}))
    it.client("s3").put_object(Bucket=out["UploadsBucket"], Key=bad, Body=b"not json")

    batch, reply = invoke(out, good, bad)
    assert reply == {"batchItemFailures": [{"itemIdentifier": batch["Records"][1]["messageId"]}]}
    rejected = it.wait_for_item(out["StatusTable"], {"key": bad})
    assert rejected["status"] == "REJECTED" and "JSON" in rejected["reason"]

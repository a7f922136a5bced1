"""End-to-end test of lab 02's flow, on its copy deployed as stack edalab-10-testing:
an upload to S3 goes through the notification, the queue and the function to a summary and a
status item; an invalid one is retried and parked in the dead-letter queue.

Run it:  .venv/bin/python -m pytest labs/10-testing/tests/test_uploads_e2e.py -q
`make check LAB=10` runs it against the correct handler and against each mutant.
"""

import json
import time
import uuid

import pytest

from edalab.testing import integration as it

STACK = "edalab-10-testing"
# 2 x 1.25 + 1 x 0.5 = 3.0: a total that forgets qty (1.75) or the pieces (2 items, 3 pieces) shows
ORDER = {"order_id": "E2E-1", "customer": "Ada", "items": [
    {"sku": "bulb", "qty": 2, "unit_price": 1.25}, {"sku": "fuse", "qty": 1, "unit_price": 0.5}]}
SUMMARY = {"order_id": "E2E-1", "customer": "Ada", "item_count": 3, "total": 3.0}
INVALID = {"order_id": "E2E-2", "items": [{"sku": "lamp", "qty": 1, "unit_price": 3}]}  # no customer


@pytest.fixture
def flow():
    """The stack's outputs, a run id that keeps this run's files apart, and a clean-up of them."""
    out = it.stack_outputs(STACK)
    run = uuid.uuid4().hex[:8]
    out["good"], out["bad"] = f"incoming/e2e-{run}-good.json", f"incoming/e2e-{run}-bad.json"
    visibility = it.client("sqs").get_queue_attributes(
        QueueUrl=out["UploadsQueueUrl"], AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"]
    out["visibility"] = int(visibility)
    yield out
    s3, ddb = it.client("s3"), it.client("dynamodb")
    for key in (out["good"], out["bad"]):
        for stored in (key, key.replace("incoming/", "processed/")):
            s3.delete_object(Bucket=out["UploadsBucket"], Key=stored)
        ddb.delete_item(TableName=out["StatusTable"], Key={"key": {"S": key}})


def test_a_valid_upload_is_processed_once_and_an_invalid_one_is_dead_lettered_after_3_receives(flow):
    s3, started = it.client("s3"), time.time()
    s3.put_object(Bucket=flow["UploadsBucket"], Key=flow["good"], Body=json.dumps(ORDER))
    s3.put_object(Bucket=flow["UploadsBucket"], Key=flow["bad"], Body=json.dumps(INVALID))
    retries = 4 * flow["visibility"] + 10  # 3 receives, one visibility timeout apart, and the move

    # the valid upload: a status item and the right summary
    item = it.wait_for_item(flow["StatusTable"], {"key": flow["good"]}, timeout=retries)
    assert item["status"] == "PROCESSED", item
    summary = json.loads(it.wait_for_object(flow["UploadsBucket"], flow["good"].replace("incoming/", "processed/")))
    assert summary == SUMMARY

    # the invalid upload: in the dead-letter queue after exactly 3 receives, rejected with a reason
    it.wait_for_dead_letter(flow["DeadLetterQueueUrl"], flow["bad"], receives=3, timeout=retries,
                            source=flow["UploadsQueueUrl"])
    rejected = it.wait_for_item(flow["StatusTable"], {"key": flow["bad"]})
    assert rejected["status"] == "REJECTED" and "customer" in rejected["reason"], rejected
    assert rejected["attempt"] == 3, rejected

    # processed once: by now (3 visibility timeouts later) a second delivery would have happened
    group = f"/aws/lambda/{flow['ProcessorName']}"
    processed = it.log_lines(group, f'"processed": "{flow["good"]}"', since=started)
    assert len(processed) == 1, f"the valid upload was processed {len(processed)} times: {processed}"
    assert it.wait_for_item(flow["StatusTable"], {"key": flow["good"]})["attempt"] == 1, "received more than once"
    dead = [m.body for m in it.queue_messages(flow["DeadLetterQueueUrl"]) if flow["good"] in m.body]
    assert not dead, "the valid upload's message ended in the dead-letter queue"

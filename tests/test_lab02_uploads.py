"""Lab 02's pipeline with the reference solution: valid, invalid, filtered, and many uploads;
and its check against near misses, each a solution with one rule of the exercise broken."""

from __future__ import annotations

import json
import uuid

import pytest

from edalab import bootstrap, labs
from edalab.testing import integration as it
from edalab.waiting import wait_for
from support import assert_near_miss_fails, deploy_lab

GOOD = {"order_id": "T-1", "customer": "Ada", "items": [{"sku": "a", "qty": 3, "unit_price": 1.1}]}


@pytest.fixture(scope="module")
def pipeline(lab_engine):
    lab = labs.find("02")
    deploy_lab(lab, lab_engine.endpoint, solution=True)
    outputs = bootstrap.stack_outputs(lab.stack.name, lab_engine.endpoint)
    with pytest.MonkeyPatch.context() as patch:  # edalab.testing's helpers talk to this engine
        patch.setenv("EDALAB_ENDPOINT", lab_engine.endpoint)
        yield lab_engine, outputs


def status_items(engine, table, prefix):
    items = engine.client("dynamodb").scan(TableName=table)["Items"]
    return {i["key"]["S"]: i for i in items if i["key"]["S"].startswith(prefix)}


def dlq_bodies(engine, url):
    messages = engine.client("sqs").receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1
    ).get("Messages", [])
    return [m["Body"] for m in messages]


def test_valid_upload_is_processed_and_recorded(pipeline):
    engine, out = pipeline
    key = f"incoming/{uuid.uuid4().hex}.json"
    engine.client("s3").put_object(Bucket=out["UploadsBucket"], Key=key, Body=json.dumps(GOOD))
    item = it.wait_for_item(out["StatusTable"], {"key": key})
    assert item["status"] == "PROCESSED"
    summary = json.loads(it.wait_for_object(out["UploadsBucket"], item["output_key"]))
    assert summary == {"order_id": "T-1", "customer": "Ada", "item_count": 3, "total": 3.3}


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"{broken", "not valid JSON"), (json.dumps({**GOOD, "items": []}).encode(), "'items'"),
     (json.dumps({**GOOD, "items": [{"sku": "a", "qty": True, "unit_price": 1}]}).encode(), "'qty'"),
     (json.dumps({**GOOD, "note": "x" * (1024 * 1024)}).encode(), "the limit is")],  # over 1 MB
)
def test_invalid_upload_is_reported_and_dead_lettered_after_three_receives(pipeline, body, reason):
    engine, out = pipeline
    key = f"incoming/bad-{uuid.uuid4().hex}.json"
    engine.client("s3").put_object(Bucket=out["UploadsBucket"], Key=key, Body=body)
    it.wait_for_dead_letter(out["DeadLetterQueueUrl"], key, receives=3, timeout=60, source=out["UploadsQueueUrl"])
    item = it.wait_for_item(out["StatusTable"], {"key": key})
    assert item["status"] == "REJECTED" and reason in item["reason"]
    assert item["attempt"] == 3


def test_uploads_outside_the_filter_trigger_nothing(pipeline):
    engine, out = pipeline
    run = uuid.uuid4().hex
    s3 = engine.client("s3")
    ignored = [f"other/{run}.json", f"incoming/{run}.txt", f"incoming-{run}.json"]
    for key in ignored:
        s3.put_object(Bucket=out["UploadsBucket"], Key=key, Body=json.dumps(GOOD))
    last = f"incoming/{run}-last.json"
    s3.put_object(Bucket=out["UploadsBucket"], Key=last, Body=json.dumps(GOOD))
    wait_for(lambda: status_items(engine, out["StatusTable"], last), what=f"status of {last}")
    seen = {k for k in status_items(engine, out["StatusTable"], "") if run in k}
    assert seen == {last}


def test_direct_uploads_go_through_the_forwarder(pipeline):
    engine, out = pipeline
    key = f"direct/{uuid.uuid4().hex}.json"
    engine.client("s3").put_object(Bucket=out["UploadsBucket"], Key=key, Body=json.dumps(GOOD))
    item = wait_for(lambda: status_items(engine, out["StatusTable"], key).get(key), what=f"status of {key}")
    assert item["status"]["S"] == "PROCESSED"


def test_many_uploads_give_one_outcome_each_none_lost_none_doubled(pipeline):
    engine, out = pipeline
    run = uuid.uuid4().hex[:8]
    s3 = engine.client("s3")
    good = [f"incoming/{run}/ok-{i}.json" for i in range(40)]
    bad = [f"incoming/{run}/bad-{i}.json" for i in range(5)]
    for key in good:
        s3.put_object(Bucket=out["UploadsBucket"], Key=key, Body=json.dumps({**GOOD, "order_id": key}))
    for key in bad:
        s3.put_object(Bucket=out["UploadsBucket"], Key=key, Body=b"not an order")

    statuses = wait_for(lambda: status_items(engine, out["StatusTable"], f"incoming/{run}/"),
                        what="a status for every upload", timeout=60, until=lambda s: len(s) == 45)
    assert {k for k, v in statuses.items() if v["status"]["S"] == "PROCESSED"} == set(good)
    assert all(statuses[k]["attempt"]["N"] == "1" for k in good)  # processed once, first time
    wait_for(lambda: [k for k in bad if statuses[k]["status"]["S"] == "REJECTED"
                      and status_items(engine, out["StatusTable"], k)[k]["attempt"]["N"] == "3"],
             what="every bad upload to be tried 3 times", timeout=60, until=lambda ks: len(ks) == len(bad))
    outputs = s3.list_objects_v2(Bucket=out["UploadsBucket"], Prefix=f"processed/{run}/")["Contents"]
    assert sorted(o["Key"] for o in outputs) == sorted(k.replace("incoming/", "processed/") for k in good)
    in_dlq = set()
    wait_for(lambda: in_dlq.update(k for b in dlq_bodies(engine, out["DeadLetterQueueUrl"]) for k in bad if k in b)
             or in_dlq, what="every bad upload in the DLQ", timeout=60, until=lambda s: s == set(bad))


# Near misses: the reference solution with one rule of the exercise broken. The check must fail
# at the step that proves that rule, with a message naming it (and the hint that fits).
APP = "handlers/upload_processor/app.py"
VALIDATE = "validate() refuses each broken rule"
ACCEPT = "validate() accepts valid orders"
SUMMARY = "transform() summarises"
NEAR_MISSES = {
    "no rounding": ([("round(sum(item[\"qty\"] * item[\"unit_price\"] for item in order[\"items\"]), 2)",
                      "sum(item[\"qty\"] * item[\"unit_price\"] for item in order[\"items\"])")],
                    SUMMARY, "total 0.30000000000000004 is not rounded", 3),
    "rounding each item, not the sum": (
        [("round(sum(item[\"qty\"] * item[\"unit_price\"] for item in order[\"items\"]), 2)",
          "sum(round(item[\"qty\"] * item[\"unit_price\"], 2) for item in order[\"items\"])")],
        SUMMARY, "is not rounded", 3),
    "cut to cents, not rounded": (
        [("round(sum(item[\"qty\"] * item[\"unit_price\"] for item in order[\"items\"]), 2)",
          "int(sum(item[\"qty\"] * item[\"unit_price\"] for item in order[\"items\"]) * 100) / 100")],
        SUMMARY, "total should be 2.25", 3),
    "item_count counts items": ([('sum(item["qty"] for item in order["items"])', 'len(order["items"])')],
                                SUMMARY, "item_count should be 4, the sum of every item's qty", 3),
    "customer not trimmed": ([('order["customer"].strip()', 'order["customer"]')],
                             SUMMARY, 'customer should be "Cy", without surrounding spaces', 3),
    "qty true accepted": ([("if isinstance(qty, bool) or not", "if not")], VALIDATE, "qty is true", 2),
    "unit_price true accepted": ([("if isinstance(price, bool) or not", "if not")], VALIDATE,
                                 "unit_price is true", 2),
    "only the first item checked": ([("enumerate(items, start=1)", "enumerate(items[:1], start=1)")],
                                    VALIDATE, "the second item has no qty", 2),
    "empty items accepted": ([("if not isinstance(items, list) or not items:", "if not isinstance(items, list):")],
                             VALIDATE, "items is an empty list", 2),
    "empty strings accepted": ([(" or not doc[field].strip()", "")], VALIDATE, "customer is an empty string", 2),
    "a list crashes validate": ([("    if not isinstance(doc, dict):\n        raise InvalidUpload(\"the file must hold "
                                  "a JSON object\")\n", "")],
                                VALIDATE, "the file is a JSON list, not an object: ERROR: AttributeError", 2),
    "reasons that name no field": ([("f\"item {n}: 'qty' must be a whole number above zero\"", "\"not valid\"")],
                                   VALIDATE, "does not name qty", 2),
    "a free item refused": ([("or price < 0:", "or price <= 0:")], ACCEPT, "a free item", 2),
    "whole-number prices refused": ([("isinstance(price, (int, float))", "isinstance(price, float)")], ACCEPT,
                                    "whole-number prices", 2),
    "InvalidUpload swallowed, never retried": ([("            print(json.dumps(line))\n            raise\n",
                                                 "            print(json.dumps(line))\n")],
                                               VALIDATE, "not reported in batchItemFailures", 4),
}


@pytest.fixture(scope="module")
def near_miss_lab(lab_engine):
    """Lab 02 for near misses; the reference solution is deployed again once they are done (each
    near miss deploys over the last, so restoring after each would only double the deploys)."""
    lab = labs.find("02")
    yield lab
    deploy_lab(lab, lab_engine.endpoint, solution=True)


@pytest.mark.parametrize("name", NEAR_MISSES)
def test_the_check_fails_each_near_miss_at_the_step_that_proves_its_rule(lab_engine, near_miss_lab, tmp_path, name):
    edits, step_title, said, hint = NEAR_MISSES[name]
    assert_near_miss_fails(near_miss_lab, lab_engine.endpoint, tmp_path / "near-miss", {APP: edits},
                           step_title, said, hint)

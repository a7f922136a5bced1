"""Unit tests: one handler at a time, called with a realistic event from edalab.testing.events,
its AWS calls replaced by fakes (conftest.py). They run in milliseconds, offline, and say
exactly which rule broke; they cannot see the wiring (notifications, retries, the DLQ).

Run them:  .venv/bin/python -m pytest labs/10-testing/tests/test_unit_handlers.py -q
"""

import json

from conftest import FakeTable, load_handler

from edalab.testing import LambdaContext, events

ORDER = {"order_id": "U-1", "customer": " Ada ", "items": [{"sku": "bulb", "qty": 2, "unit_price": 0.1},
                                                          {"sku": "fuse", "qty": 1, "unit_price": 0.1}]}


def s3_to_sqs_batch(*keys, receive_count=1):
    """What the processor receives: an SQS batch whose bodies are S3 notifications."""
    return events.sqs_batch([events.s3_put("edalab-tested-uploads", key) for key in keys],
                            queue="edalab-tested-uploads", receive_count=receive_count)


def test_a_valid_upload_is_summarised_and_recorded(processor):
    processor.S3.objects["incoming/o 1.json"] = json.dumps(ORDER).encode()  # a space: URL-encoded as +
    reply = processor.handler(s3_to_sqs_batch("incoming/o 1.json"), LambdaContext("edalab-tested-processor"))
    assert reply == {"batchItemFailures": []}
    assert processor.S3.json("processed/o 1.json") == {"order_id": "U-1", "customer": "Ada", "item_count": 3,
                                                       "total": 0.3}
    assert processor.STATUS.items["incoming/o 1.json"]["status"] == "PROCESSED"


def test_only_the_invalid_record_of_a_batch_is_reported_failed(processor):
    processor.S3.objects["incoming/good.json"] = json.dumps(ORDER).encode()
    processor.S3.objects["incoming/bad.json"] = json.dumps({**ORDER, "customer": ""}).encode()
    batch = s3_to_sqs_batch("incoming/good.json", "incoming/bad.json", receive_count=3)
    reply = processor.handler(batch, LambdaContext())
    assert reply == {"batchItemFailures": [{"itemIdentifier": batch["Records"][1]["messageId"]}]}
    rejected = processor.STATUS.items["incoming/bad.json"]
    assert rejected["status"] == "REJECTED" and "customer" in rejected["reason"] and rejected["attempt"] == 3


def test_the_audit_function_records_sns_and_eventbridge_events(monkeypatch):
    audit = load_handler("handlers/routing_audit/app.py", monkeypatch, TABLE_NAME="edalab-routing-audit")
    monkeypatch.setattr(audit, "TABLE", FakeTable("id"))
    from_sns = events.sns({"id": "o-1", "total": 700}, topic="edalab-orders", attributes={"tier": "gold"})
    from_rule = events.eventbridge("OrderShipped", {"id": "o-1"}, source="shop.shipping")
    assert audit.handler(from_sns, LambdaContext()) == {"audited": 1}
    assert audit.handler(from_rule, LambdaContext()) == {"audited": 1}
    assert json.loads(audit.TABLE.items[from_sns["Records"][0]["Sns"]["MessageId"]]["body"])["total"] == 700
    assert audit.TABLE.items[from_rule["id"]]["channel"] == "events"


def test_the_items_api_refuses_a_body_without_a_name(monkeypatch):
    api = load_handler("labs/01-s3-crud-api/solution/files/handlers/items_api/app.py", monkeypatch,
                       TABLE_NAME="edalab-items", BUCKET_NAME="edalab-items")
    reply = api.handler(events.api_gateway_proxy("POST", "/items", body={"price": 3}), LambdaContext())
    assert reply["statusCode"] == 400 and "'name'" in json.loads(reply["body"])["error"]

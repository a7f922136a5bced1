"""Lab 02 check: a valid upload is processed once, an invalid one is reported and ends in
the dead-letter queue, and uploads outside incoming/*.json trigger nothing."""

import json
import uuid

from edalab.checks import CheckFailed, step

GOOD_ORDER = {"order_id": "CHK-1", "customer": "  Ada ", "items": [
    {"sku": "lamp", "qty": 2, "unit_price": 12.5}, {"sku": "bulb", "qty": 3, "unit_price": 0.99}]}
EXPECTED_SUMMARY = {"order_id": "CHK-1", "customer": "Ada", "item_count": 5, "total": 27.97}
BAD_ORDER = {"order_id": "CHK-2", "items": [{"sku": "lamp", "qty": 1, "unit_price": 3}]}  # no customer


def _status(ctx, key):
    return ctx.client("dynamodb").get_item(
        TableName=ctx.outputs["StatusTable"], Key={"key": {"S": key}}
    ).get("Item")


def _receive_timeout(ctx):
    attrs = ctx.client("sqs").get_queue_attributes(
        QueueUrl=ctx.outputs["UploadsQueueUrl"], AttributeNames=["VisibilityTimeout"])["Attributes"]
    return int(attrs["VisibilityTimeout"])


@step("The upload pipeline is wired: bucket notification, queue with a DLQ after 3 receives")
def wiring(ctx):
    out = ctx.outputs
    config = ctx.client("s3").get_bucket_notification_configuration(Bucket=out["UploadsBucket"])
    if not config.get("QueueConfigurations"):
        raise CheckFailed(f"bucket {out['UploadsBucket']} sends no notifications to a queue")
    attrs = ctx.client("sqs").get_queue_attributes(
        QueueUrl=out["UploadsQueueUrl"], AttributeNames=["RedrivePolicy"])["Attributes"]
    if json.loads(attrs.get("RedrivePolicy", "{}")).get("maxReceiveCount") not in (3, "3"):
        raise CheckFailed("the uploads queue has no redrive policy with maxReceiveCount 3")
    ctx.run_id = uuid.uuid4().hex[:8]


@step("A valid upload to incoming/ is processed: summary under processed/, status PROCESSED", hint=1)
def valid_upload(ctx):
    key = f"incoming/check-{ctx.run_id}-good.json"
    ctx.client("s3").put_object(Bucket=ctx.outputs["UploadsBucket"], Key=key, Body=json.dumps(GOOD_ORDER))
    item = ctx.wait_for(lambda: _status(ctx, key), what=f"a status item for {key}",
                        timeout=15 + 3 * _receive_timeout(ctx))
    if item["status"]["S"] != "PROCESSED":
        reason = item.get("reason", {}).get("S", "")
        raise CheckFailed(f"{key} has status {item['status']['S']}: {reason}")
    ctx.good_output = item["output_key"]["S"]


@step("The summary is right: item_count and total (rounded to cents), customer trimmed", hint=3)
def summary(ctx):
    body = ctx.client("s3").get_object(Bucket=ctx.outputs["UploadsBucket"], Key=ctx.good_output)["Body"].read()
    got = json.loads(body)
    wrong = {k: got.get(k) for k, v in EXPECTED_SUMMARY.items() if got.get(k) != v}
    if wrong:
        raise CheckFailed(f"{ctx.good_output} has {wrong}; expected {EXPECTED_SUMMARY}")


@step("An invalid upload is reported: status REJECTED with a reason", hint=2)
def invalid_reported(ctx):
    key = f"incoming/check-{ctx.run_id}-bad.json"
    ctx.bad_key = key
    ctx.client("s3").put_object(Bucket=ctx.outputs["UploadsBucket"], Key=key, Body=json.dumps(BAD_ORDER))
    item = ctx.wait_for(lambda: _status(ctx, key), what=f"a status item for {key}",
                        timeout=15 + 3 * _receive_timeout(ctx))
    if item["status"]["S"] != "REJECTED" or "customer" not in item.get("reason", {}).get("S", ""):
        raise CheckFailed(f"{key} (it has no customer) was recorded as {item}; expected REJECTED "
                          "with a reason naming 'customer'")


@step("After 3 failed receives the invalid upload's message is in the dead-letter queue", hint=2)
def invalid_dead_lettered(ctx):
    sqs = ctx.client("sqs")

    def in_dlq():
        messages = sqs.receive_message(QueueUrl=ctx.outputs["DeadLetterQueueUrl"], MaxNumberOfMessages=10,
                                       VisibilityTimeout=0, WaitTimeSeconds=1).get("Messages", [])
        return [m for m in messages if ctx.bad_key in m["Body"]]

    ctx.wait_for(in_dlq, what=f"the message of {ctx.bad_key} in the dead-letter queue",
                 timeout=20 + 4 * _receive_timeout(ctx))
    attempt = int(_status(ctx, ctx.bad_key)["attempt"]["N"])
    if attempt != 3:
        raise CheckFailed(f"{ctx.bad_key} was tried {attempt} time(s) before the DLQ; expected 3")


@step("Uploads outside incoming/*.json trigger nothing")
def filters(ctx):
    s3 = ctx.client("s3")
    ignored = [f"elsewhere/check-{ctx.run_id}.json", f"incoming/check-{ctx.run_id}.txt"]
    for key in ignored:
        s3.put_object(Bucket=ctx.outputs["UploadsBucket"], Key=key, Body=json.dumps(GOOD_ORDER))
    marker = f"incoming/check-{ctx.run_id}-after.json"  # uploaded last: once it is done, so are the others
    s3.put_object(Bucket=ctx.outputs["UploadsBucket"], Key=marker, Body=json.dumps(GOOD_ORDER))
    ctx.wait_for(lambda: _status(ctx, marker), what=f"a status item for {marker}", timeout=30)
    triggered = [key for key in ignored if _status(ctx, key)]
    if triggered:
        raise CheckFailed(f"these uploads were processed but should not have been: {triggered}")

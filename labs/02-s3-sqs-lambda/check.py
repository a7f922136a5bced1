"""Lab 02 check: validate() refuses every broken rule of its docstring and accepts valid orders,
transform() sums and rounds as asked, and the pipeline around them works end to end: a valid
upload is processed once, an invalid one is reported and ends in the dead-letter queue after
3 receives, and uploads outside incoming/*.json trigger nothing.

The rules are proved by invoking the processor directly with an SQS batch of test files put
outside incoming/ (so no notification fires and nothing is retried): one file per rule, in a
few seconds. Only then does the check upload through S3 and the queue, so a function that
cannot process anything yet never fills the dead-letter queue with the check's files.
Everything it puts (files, summaries, status items, the dead-lettered message) it removes.
"""

import json
import uuid

from edalab.checks import CheckFailed, step

LAMP = {"sku": "lamp", "qty": 1, "unit_price": 2.5}
ORDER = {"order_id": "R-1", "customer": "Ada", "items": [LAMP]}


def _order(**changes):
    """ORDER with top-level fields changed (a value of None removes the field)."""
    doc = {**ORDER, **changes}
    return {k: v for k, v in doc.items() if v is not None}


def _second_item(**changes):
    """ORDER whose second item has the given fields changed (None removes one): every item is
    checked, not only the first."""
    item = {k: v for k, v in {**LAMP, "sku": "bulb", **changes}.items() if v is not None}
    return _order(items=[LAMP, item])


# (the rule broken, the file, words one of which the reason names)
BROKEN = [
    ("the file is a JSON list, not an object", [ORDER], ()),
    ("order_id is missing", _order(order_id=None), ("order_id", "order id")),
    ("order_id is a number (42), not a string", _order(order_id=42), ("order_id", "order id")),
    ("order_id is an empty string", _order(order_id=""), ("order_id", "order id")),
    ("customer is missing", _order(customer=None), ("customer",)),
    ("customer is an empty string", _order(customer=""), ("customer",)),
    ("customer is a number (7), not a string", _order(customer=7), ("customer",)),
    ("items is missing", _order(items=None), ("items",)),
    ("items is an empty list", _order(items=[]), ("items",)),
    ("items is a string, not a list", _order(items="lamp"), ("items",)),
    ("an item is a string, not an object", _order(items=[LAMP, "bulb"]), ("item",)),
    ("the second item has no sku", _second_item(sku=None), ("sku",)),
    ("the second item's sku is a number (5)", _second_item(sku=5), ("sku",)),
    ("the second item has no qty", _second_item(qty=None), ("qty", "quantit")),
    ("qty is true (JSON true is True, and True is an int in Python)", _second_item(qty=True), ("qty", "quantit")),
    ("qty is 0", _second_item(qty=0), ("qty", "quantit")),
    ("qty is -1", _second_item(qty=-1), ("qty", "quantit")),
    ("qty is 1.5, not a whole number", _second_item(qty=1.5), ("qty", "quantit")),
    ("qty is the string \"2\"", _second_item(qty="2"), ("qty", "quantit")),
    ("the second item has no unit_price", _second_item(unit_price=None), ("price",)),
    ("unit_price is -0.01", _second_item(unit_price=-0.01), ("price",)),
    ("unit_price is the string \"2.50\"", _second_item(unit_price="2.50"), ("price",)),
    ("unit_price is true (True is an int in Python)", _second_item(unit_price=True), ("price",)),
]

# (what the order tests, the order, its summary) -- totals where a missing round() shows
VALID = [
    ("0.1 + 0.2 (unrounded: 0.30000000000000004)",
     {"order_id": "V-1", "customer": "Bo", "items": [
         {"sku": "bulb", "qty": 1, "unit_price": 0.1}, {"sku": "fuse", "qty": 1, "unit_price": 0.2}]},
     {"order_id": "V-1", "customer": "Bo", "item_count": 2, "total": 0.3}),
    ("a free item and whole-number prices, customer '  Cy  '",
     {"order_id": "V-2", "customer": "  Cy  ", "items": [
         {"sku": "desk", "qty": 3, "unit_price": 2}, {"sku": "gift", "qty": 1, "unit_price": 0}]},
     {"order_id": "V-2", "customer": "Cy", "item_count": 4, "total": 6}),
    ("3 x 0.333 + 1.25 = 2.249, to cents",
     {"order_id": "V-3", "customer": "Di", "items": [
         {"sku": "clip", "qty": 3, "unit_price": 0.333}, {"sku": "pen", "qty": 1, "unit_price": 1.25}]},
     {"order_id": "V-3", "customer": "Di", "item_count": 4, "total": 2.25}),
    ("1000 x 0.07 (unrounded: 70.00000000000001)",
     {"order_id": "V-4", "customer": "Ed", "items": [{"sku": "nut", "qty": 1000, "unit_price": 0.07}]},
     {"order_id": "V-4", "customer": "Ed", "item_count": 1000, "total": 70}),
]

# through the pipeline: 0.1 + 2 x 0.1 is 0.30000000000000004 unrounded; 3 pieces in 2 items
GOOD_ORDER = {"order_id": "CHK-1", "customer": "  Ada ", "items": [
    {"sku": "bulb", "qty": 1, "unit_price": 0.1}, {"sku": "fuse", "qty": 2, "unit_price": 0.1}]}
EXPECTED_SUMMARY = {"order_id": "CHK-1", "customer": "Ada", "item_count": 3, "total": 0.3}
BAD_ORDER = {"order_id": "CHK-2", "items": [{"sku": "lamp", "qty": 1, "unit_price": 3}]}  # no customer
BATCH_SIZE = 5  # as the queue's event source mapping hands them out


def _run_id(ctx):
    """A suffix that keeps this run's files apart from the learner's and other runs'."""
    return vars(ctx).setdefault("run_id", uuid.uuid4().hex[:8])


def _status(ctx, key):
    return ctx.client("dynamodb").get_item(
        TableName=ctx.output("StatusTable"), Key={"key": {"S": key}}, ConsistentRead=True).get("Item")


def _receive_timeout(ctx):
    attrs = ctx.client("sqs").get_queue_attributes(
        QueueUrl=ctx.output("UploadsQueueUrl"), AttributeNames=["VisibilityTimeout"])["Attributes"]
    return int(attrs["VisibilityTimeout"])


def _remove_uploads(ctx, keys):
    """Deletes each upload, the summary its status item points at (or would), and the status item."""
    s3, ddb, bucket = ctx.client("s3"), ctx.client("dynamodb"), ctx.output("UploadsBucket")
    for key in keys:
        item = _status(ctx, key) or {}
        outputs = {item.get("output_key", {}).get("S"), "processed/" + key.split("/", 1)[-1]} - {None}
        for stored in [key, *outputs]:
            s3.delete_object(Bucket=bucket, Key=stored)
        ddb.delete_item(TableName=ctx.output("StatusTable"), Key={"key": {"S": key}})


def _upload(ctx, key, body, what):
    ctx.client("s3").put_object(Bucket=ctx.output("UploadsBucket"), Key=key, Body=body)
    ctx.cleanup(lambda: _remove_uploads(ctx, [key]), f"{what} {key}, its summary and status item")


def _delete_message_about(ctx, key):
    """Removes the message about `key` from the dead-letter queue (receiving it, then deleting
    it; any other message received on the way is made visible again)."""
    sqs = ctx.client("sqs")
    dlq, queue = ctx.output("DeadLetterQueueUrl"), ctx.output("UploadsQueueUrl")
    others = []  # the learner's messages received on the way: visible again at the end
    try:
        for _ in range(20):
            if not any(key in m.body for m in ctx.queue_messages(dlq)):
                break
            for message in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=10,
                                               WaitTimeSeconds=1).get("Messages", []):
                if key in message["Body"]:
                    sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
                else:
                    others.append(message["ReceiptHandle"])
    finally:
        for handle in others:
            sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=handle, VisibilityTimeout=0)
    if any(key in m.body for m in ctx.queue_messages(queue) + ctx.queue_messages(dlq)):
        raise RuntimeError(f"the message of {key} is still being retried on {queue.rsplit('/', 1)[-1]}; it "
                           f"reaches the dead-letter queue within {4 * _receive_timeout(ctx)} s (`make reset` clears it)")


def _invoke_with(ctx, files):
    """Puts each test file outside incoming/ and hands them to the processor as SQS batches
    (what the queue would send); returns {name: (reported as failed, status item)}."""
    run, bucket = _run_id(ctx), ctx.output("UploadsBucket")
    keys = {name: f"check/{run}/{name}.json" for name in files}
    ctx.cleanup(lambda: _remove_uploads(ctx, list(keys.values())),
                f"the {len(keys)} test files under check/{run}/, their summaries and status items")
    for name, body in files.items():
        ctx.client("s3").put_object(Bucket=bucket, Key=keys[name], Body=json.dumps(body))
    names, outcome = list(files), {}
    for start in range(0, len(names), BATCH_SIZE):
        batch = {f"check-{run}-{n}": n for n in names[start:start + BATCH_SIZE]}
        records = [{"messageId": message_id, "receiptHandle": message_id, "eventSource": "aws:sqs",
                    "attributes": {"ApproximateReceiveCount": "1"},
                    "body": json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                                                     "s3": {"bucket": {"name": bucket},
                                                            "object": {"key": keys[name]}}}]})}
                   for message_id, name in batch.items()]
        reply = ctx.client("lambda").invoke(FunctionName="edalab-upload-processor",
                                            Payload=json.dumps({"Records": records}).encode())
        payload = json.loads(reply["Payload"].read() or b"null")
        if reply.get("FunctionError") or not isinstance(payload, dict):
            said = payload.get("errorMessage", payload) if isinstance(payload, dict) else payload
            raise CheckFailed(f"edalab-upload-processor failed as a whole on a batch of {len(records)} files "
                              f"({said}): the handler must answer {{\"batchItemFailures\": [...]}}", hint=4)
        failed = {f.get("itemIdentifier") for f in payload.get("batchItemFailures") or []}
        for message_id, name in batch.items():
            outcome[name] = (message_id in failed, _status(ctx, keys[name]) or {})
    return keys, outcome


def _listed(lines):
    """One line per case, or one line for all when they all went the same way (say, every file
    ended ERROR with "validate() is the lab 02 exercise"): the cause, not 23 copies of it."""
    said = {line.split(": ", 1)[-1] for line in lines}
    if len(lines) > 2 and len(said) == 1:
        return f"\n  - all {len(lines)} of them: {said.pop()}"
    return "".join(f"\n  - {line}" for line in lines)


def _status_of(item):
    return item.get("status", {}).get("S"), item.get("reason", {}).get("S", "")


@step("The upload pipeline is wired: bucket notification, queue with a DLQ after 3 receives")
def wiring(ctx):
    config = ctx.client("s3").get_bucket_notification_configuration(Bucket=ctx.output("UploadsBucket"))
    if not config.get("QueueConfigurations"):
        raise CheckFailed(f"bucket {ctx.output('UploadsBucket')} sends no notifications to a queue: "
                          "`make deploy LAB=02` puts them back")
    attrs = ctx.client("sqs").get_queue_attributes(
        QueueUrl=ctx.output("UploadsQueueUrl"), AttributeNames=["RedrivePolicy"])["Attributes"]
    if json.loads(attrs.get("RedrivePolicy", "{}")).get("maxReceiveCount") not in (3, "3"):
        raise CheckFailed("the uploads queue has no redrive policy with maxReceiveCount 3: "
                          "`make deploy LAB=02` puts it back")


@step("validate() accepts valid orders: free items, whole-number prices, many pieces", hint=2)
def valid_accepted(ctx):
    keys, outcome = _invoke_with(ctx, {f"valid-{n}": order for n, (_, order, _) in enumerate(VALID, start=1)})
    wrong, hints = [], set()
    for n, (what, _, _) in enumerate(VALID, start=1):
        failed, item = outcome[f"valid-{n}"]
        status, reason = _status_of(item)
        if status != "PROCESSED" or failed:
            wrong.append(f"{what}: {status or 'no status item'}: {reason}")
            # not written yet: hint 1; refused by validate(): hint 2; a crash, most likely in transform(): 3
            hints.add(1 if "NotImplementedError" in reason else 2 if status == "REJECTED" else 3)
    if wrong:
        raise CheckFailed("these valid orders were not processed (status PROCESSED expected; "
                          "`unit_price` may be 0, and an int is a number too):" + _listed(wrong), hint=min(hints))
    ctx.valid_outputs = {f"valid-{n}": outcome[f"valid-{n}"][1]["output_key"]["S"] for n in range(1, len(VALID) + 1)}


@step("transform() summarises: item_count is the sum of qty, total rounded to cents, customer trimmed",
      hint=3, needs=[valid_accepted])
def summaries(ctx):
    s3, wrong = ctx.client("s3"), []
    for n, (what, _, expected) in enumerate(VALID, start=1):
        output = ctx.valid_outputs[f"valid-{n}"]
        got = json.loads(s3.get_object(Bucket=ctx.output("UploadsBucket"), Key=output)["Body"].read())
        problems = _summary_problems(got, expected)
        if problems:
            wrong.append(f"  - {what}: {output} has {json.dumps(got)}: " + "; ".join(problems))
    if wrong:
        raise CheckFailed("these summaries are not right:\n" + "\n".join(wrong))


def _summary_problems(got, expected):
    """Which rule of transform() a summary breaks, each said so the learner knows what to change."""
    if not isinstance(got, dict):
        return ["the summary must be a JSON object"]
    problems = []
    extra, missing = sorted(set(got) - set(expected)), sorted(set(expected) - set(got))
    if missing:
        problems.append(f"it lacks {', '.join(missing)}")
    if extra:
        problems.append(f"it has {', '.join(extra)} too (only order_id, customer, item_count, total)")
    total = got.get("total")
    if "total" in got and total != expected["total"]:
        if isinstance(total, bool) or not isinstance(total, (int, float)):
            problems.append(f"total must be a number, not {json.dumps(total)}")
        elif abs(total - expected["total"]) < 0.005:
            problems.append(f"total {total} is not rounded: round(sum, 2) gives {expected['total']}")
        else:
            problems.append(f"total should be {expected['total']} (the sum of qty * unit_price, to cents)")
    if "item_count" in got and got["item_count"] != expected["item_count"]:
        problems.append(f"item_count should be {expected['item_count']}, the sum of every item's qty "
                        "(not the number of items)")
    if "customer" in got and got["customer"] != expected["customer"]:
        problems.append(f"customer should be {json.dumps(expected['customer'])}, without surrounding spaces")
    if "order_id" in got and got["order_id"] != expected["order_id"]:
        problems.append(f"order_id should be {json.dumps(expected['order_id'])}, as in the file")
    return problems


@step("validate() refuses each broken rule with InvalidUpload and a reason naming the field", hint=2)
def rules(ctx):
    _, outcome = _invoke_with(ctx, {f"broken-{n}": doc for n, (_, doc, _) in enumerate(BROKEN, start=1)})
    accepted, crashed, unnamed, unreported = [], [], [], []
    for n, (rule, _, words) in enumerate(BROKEN, start=1):
        failed, item = outcome[f"broken-{n}"]
        status, reason = _status_of(item)
        if status == "PROCESSED":
            accepted.append(rule)
        elif status != "REJECTED":
            crashed.append(f"{rule}: {status or 'no status item'}: {reason}")
        elif words and not any(w.replace("_", " ") in reason.lower().replace("_", " ") for w in words):
            unnamed.append(f"{rule}: the reason {json.dumps(reason)} does not name {words[0]}")
        elif not failed:
            unreported.append(rule)
    said = []
    if accepted:
        said.append("validate() let these broken orders through (each must raise InvalidUpload):"
                    + "".join(f"\n  - {r}" for r in accepted))
    if crashed:
        said.append("these raised something else than InvalidUpload (status ERROR: a bug, retried "
                    "for nothing), or were not recorded:" + _listed(crashed))
    if unnamed:
        said.append("a reason must name the field at fault, so the sender knows what to fix:"
                    + "".join(f"\n  - {r}" for r in unnamed))
    if unreported:
        said.append("these were REJECTED but not reported in batchItemFailures, so SQS would drop them "
                    "instead of keeping them in the dead-letter queue:" + "".join(f"\n  - {r}" for r in unreported))
    if said:
        not_written = any("NotImplementedError" in c for c in crashed)
        raise CheckFailed("\n".join(said), hint=1 if not_written else 4 if unreported and not accepted else 2)


@step("An invalid upload to incoming/ is reported: status REJECTED with a reason", hint=4, needs=[wiring, rules])
def invalid_reported(ctx):
    key = f"incoming/check-{_run_id(ctx)}-bad.json"
    _upload(ctx, key, json.dumps(BAD_ORDER), "the invalid upload")
    ctx.cleanup(lambda: _delete_message_about(ctx, key), f"the message of {key} in the dead-letter queue")
    item = ctx.wait_for(lambda: _status(ctx, key), what=f"a status item for {key}",
                        timeout=15 + 3 * _receive_timeout(ctx), missing=lambda _: f"the status item of {key}")
    status, reason = _status_of(item)
    if status != "REJECTED" or "customer" not in reason:
        raise CheckFailed(f"{key} (it has no customer) was recorded as {status}: {reason}; expected REJECTED "
                          "with a reason naming 'customer'", hint=2)
    ctx.bad_key = key


@step("A valid upload to incoming/ is processed: summary under processed/, status PROCESSED", hint=4,
      needs=[wiring, valid_accepted, summaries])
def valid_upload(ctx):
    key = f"incoming/check-{_run_id(ctx)}-good.json"
    _upload(ctx, key, json.dumps(GOOD_ORDER), "the valid upload")
    item = ctx.wait_for(lambda: _status(ctx, key), what=f"a status item for {key}",
                        timeout=15 + 3 * _receive_timeout(ctx), missing=lambda _: f"the status item of {key}")
    status, reason = _status_of(item)
    if status != "PROCESSED":
        raise CheckFailed(f"{key} has status {status}: {reason}")
    output = item["output_key"]["S"]
    got = json.loads(ctx.client("s3").get_object(Bucket=ctx.output("UploadsBucket"), Key=output)["Body"].read())
    problems = _summary_problems(got, EXPECTED_SUMMARY)
    if problems:
        raise CheckFailed(f"{output} has {json.dumps(got)}: " + "; ".join(problems), hint=3)


@step("Uploads outside incoming/*.json trigger nothing", needs=[valid_upload])
def filters(ctx):
    run = _run_id(ctx)
    ignored = [f"elsewhere/check-{run}.json", f"incoming/check-{run}.txt"]
    for key in ignored:
        _upload(ctx, key, json.dumps(GOOD_ORDER), "the upload")
    marker = f"incoming/check-{run}-after.json"  # uploaded last: once it is done, so are the others
    _upload(ctx, marker, json.dumps(GOOD_ORDER), "the upload")
    ctx.wait_for(lambda: _status(ctx, marker), what=f"a status item for {marker}", timeout=30,
                 missing=lambda _: f"the status item of {marker}")
    triggered = [key for key in ignored if _status(ctx, key)]
    if triggered:
        raise CheckFailed(f"these uploads were processed but should not have been: {triggered}; the "
                          "notification's filter is prefix incoming/ and suffix .json (`make deploy LAB=02`)")


@step("After 3 failed receives the invalid upload's message is in the dead-letter queue", hint=4,
      needs=[invalid_reported])
def invalid_dead_lettered(ctx):
    dlq = ctx.output("DeadLetterQueueUrl")
    ctx.wait_for(lambda: [m for m in ctx.queue_messages(dlq) if ctx.bad_key in m.body],
                 what=f"the message of {ctx.bad_key} in the dead-letter queue (3 receives, "
                      f"{_receive_timeout(ctx)} s apart)", timeout=20 + 4 * _receive_timeout(ctx),
                 missing=lambda _: f"the message of {ctx.bad_key} (its status item says attempt "
                                   f"{(_status(ctx, ctx.bad_key) or {}).get('attempt', {}).get('N', '?')})")
    attempt = int(_status(ctx, ctx.bad_key)["attempt"]["N"])
    if attempt != 3:
        raise CheckFailed(f"{ctx.bad_key} was tried {attempt} time(s) before the DLQ; expected 3")

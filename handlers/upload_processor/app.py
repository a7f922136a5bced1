"""Processes order files uploaded to S3: S3 -> SQS -> this function -> S3 `processed/` + status.

Each SQS message carries an S3 event. For each uploaded file the function reads it,
validates it, transforms it into a summary, writes the summary under `processed/` and
records the outcome in the status table. A file that cannot be processed is recorded as
REJECTED (with the reason) and its message is reported as failed, so SQS retries it and,
after the queue's maxReceiveCount, moves it to the dead-letter queue: nothing is lost.
"""

import json
import os
import time
import traceback
from urllib.parse import unquote_plus

import boto3

S3 = boto3.client("s3")
STATUS = boto3.resource("dynamodb").Table(os.environ["STATUS_TABLE"])
OUTPUT_PREFIX = "processed/"
MAX_BYTES = 1024 * 1024


class InvalidUpload(Exception):
    """The file itself is wrong: retrying will not help, but the message still goes to the DLQ."""


def validate(doc):
    """Returns the order if `doc` is a valid order, else raises InvalidUpload with the reason.

    A valid order is a JSON object:
        {"order_id": a non-empty string,
         "customer": a non-empty string,
         "items": a non-empty list; every item is an object
                  {"sku": a string, "qty": a whole number above 0, "unit_price": a number, 0 or more}}
    The reason names the field at fault, e.g. "item 2: 'qty' must be a whole number above zero".
    """
    # TODO (lab 02): check each rule above; on the first one broken,
    #   raise InvalidUpload("...a reason a person can act on, naming the field...").
    #   Check every item, not only the first.
    #   Careful: in Python, True is an int (JSON true becomes True). A qty of true is not a
    #   quantity, and a unit_price of true is not a price.
    raise NotImplementedError("validate() is the lab 02 exercise")


def transform(order):
    """The summary written under processed/: counts and the total, rounded to cents.

    Floats are binary: 0.1 + 0.2 is 0.30000000000000004, and the summary must say 0.3.
    """
    # TODO (lab 02): return
    #   {"order_id": ..., "customer": ... (without surrounding spaces),
    #    "item_count": the sum of every item's qty,
    #    "total": the sum of qty * unit_price, rounded to 2 decimals}
    raise NotImplementedError("transform() is the lab 02 exercise")


def record_status(key, status, **details):
    STATUS.put_item(Item={"key": key, "status": status, "updated_at": int(time.time()), **details})


def process_upload(bucket, key, attempt):
    obj = S3.get_object(Bucket=bucket, Key=key)
    if obj["ContentLength"] > MAX_BYTES:  # known before the body is read: one call, not two
        obj["Body"].close()
        raise InvalidUpload(f"the file has {obj['ContentLength']} bytes; the limit is {MAX_BYTES}")
    raw = obj["Body"].read()
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidUpload("the file is not valid JSON")
    summary = transform(validate(doc))
    output_key = OUTPUT_PREFIX + key.split("/", 1)[-1]
    S3.put_object(Bucket=bucket, Key=output_key, Body=json.dumps(summary).encode(),
                  ContentType="application/json")
    record_status(key, "PROCESSED", output_key=output_key, attempt=attempt)
    print(json.dumps({"processed": key, "output": output_key, "attempt": attempt}))


def process_message(record):
    body = json.loads(record["body"])
    if body.get("Event") == "s3:TestEvent":
        return  # S3 sends one when the notification is set up; nothing to do
    attempt = int(record["attributes"]["ApproximateReceiveCount"])
    for s3_record in body.get("Records", []):
        bucket = s3_record["s3"]["bucket"]["name"]
        key = unquote_plus(s3_record["s3"]["object"]["key"])
        try:
            process_upload(bucket, key, attempt)
        except Exception as error:
            rejected = isinstance(error, InvalidUpload)  # the file is wrong, not the code
            reason = (str(error) or "invalid upload") if rejected else f"{type(error).__name__}: {error}"
            status = "REJECTED" if rejected else "ERROR"
            record_status(key, status, reason=reason, attempt=attempt)
            line = {"failed": key, "status": status, "reason": reason, "attempt": attempt}
            if not rejected:  # a bug: the log keeps where it happened, and `make check` shows it
                line.update(level="ERROR", message=f"{key}: {error}", exception_name=type(error).__name__,
                            exception=traceback.format_exc())
            print(json.dumps(line))
            raise


def handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            process_message(record)
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}

"""Lab 08's workload: reads each uploaded order, works on it, and records when it finished.

S3 -> SQS -> this function, as in lab 02 (this is the lab's own copy, so experiments can change
its batch size, window and memory without touching lab 02). For each uploaded file it reads the
object, checks and totals the order, then spends a fixed amount of CPU on it (WORK_ROUNDS rounds
of SHA-256 over the body, standing for real work such as resizing or parsing: about 10 ms on one
full vCPU), and writes one item to the results table: the upload's key, the S3 event's own time
and the time this function finished with it. `make experiment LAB=08` reads latency from those
two timestamps, so the runner's clock plays no part.

A file that cannot be processed is reported in batchItemFailures, so only it is retried.
"""

import hashlib
import json
import os
import time
from urllib.parse import unquote_plus

import boto3

S3 = boto3.client("s3")
RESULTS = boto3.resource("dynamodb").Table(os.environ["RESULTS_TABLE"])
WORK_ROUNDS = int(os.environ.get("WORK_ROUNDS", "20000"))


def work(body: bytes) -> str:
    """A fixed amount of CPU per upload: the part of the work more memory (more CPU) speeds up."""
    digest = body
    for _ in range(WORK_ROUNDS):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()[:16]


def process(s3_record: dict) -> None:
    bucket = s3_record["s3"]["bucket"]["name"]
    key = unquote_plus(s3_record["s3"]["object"]["key"])
    body = S3.get_object(Bucket=bucket, Key=key)["Body"].read()
    order = json.loads(body)
    total = round(sum(item["qty"] * item["unit_price"] for item in order["items"]), 2)
    RESULTS.put_item(Item={
        "key": key,
        "run": order.get("run", ""),
        "total": str(total),
        "digest": work(body),
        "event_time": s3_record["eventTime"],   # when S3 stored the upload, by S3's clock
        "finished_ms": int(time.time() * 1000),  # when this function was done with it
    })


def handler(event, context):
    failures = []
    for record in event.get("Records", []):
        try:
            body = json.loads(record["body"])
            for s3_record in body.get("Records", []):  # S3's s3:TestEvent has none
                process(s3_record)
        except Exception as error:
            print(json.dumps({"level": "ERROR", "message": f"{type(error).__name__}: {error}",
                              "messageId": record.get("messageId")}))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}

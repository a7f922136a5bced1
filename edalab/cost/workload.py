"""Lab 08's workload: uploads at a steady pace, our own short-polling consumer, and reading
what the function recorded.

Why this exists: every experiment runs the same traffic (one small order per upload, `rate` per
second, as real uploads arrive: not all at once), and its latency is read from the events' own
timestamps: S3's `eventTime` of each upload and the time the function wrote when it finished
with it (the results table), never the runner's clock. The short-polling consumer exists because
an event source mapping always long-polls: "short polling" can only mean a consumer of our own
that receives with WaitTimeSeconds=0, invokes the function with each batch and deletes what it
processed; while the queue is empty it asks again every `SHORT_POLL_PAUSE_S`, and every one of
those empty receives is billed.
"""

from __future__ import annotations

import json
import math
import statistics
import threading
import time
from datetime import datetime

from edalab import aws

SHORT_POLL_PAUSE_S = 0.1  # our consumer asks 10 times a second while the queue is empty


def order_body(run_id: str, n: int) -> bytes:
    return json.dumps({"order_id": f"{run_id}-{n}", "run": run_id, "customer": "Ada",
                       "items": [{"sku": "lamp", "qty": 1 + n % 3, "unit_price": 12.5},
                                 {"sku": "bulb", "qty": 2, "unit_price": 0.1}]}).encode()


def upload_key(run_id: str, n: int) -> str:
    return f"uploads/{run_id}/{n:06d}.json"


def send_uploads(endpoint: str, bucket: str, run_id: str, count: int, rate_per_s: float,
                 stop: threading.Event | None = None) -> float:
    """Puts `count` orders at `rate_per_s` (upload n at start + n / rate); returns the seconds taken."""
    s3 = aws.client("s3", endpoint)
    started = time.monotonic()
    for n in range(count):
        due = started + n / rate_per_s
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        if stop is not None and stop.is_set():
            break
        s3.put_object(Bucket=bucket, Key=upload_key(run_id, n), Body=order_body(run_id, n),
                      ContentType="application/json")
    return time.monotonic() - started


class ShortPollingConsumer(threading.Thread):
    """Receives with WaitTimeSeconds=0, invokes the function with an SQS-shaped batch, deletes the
    records it did not report as failed. Runs until `stop` is set."""

    def __init__(self, endpoint: str, queue_url: str, queue_arn: str, function: str, batch_size: int):
        super().__init__(daemon=True, name="edalab-short-poller")
        self.sqs, self.lambda_ = aws.client("sqs", endpoint), aws.client("lambda", endpoint)
        self.queue_url, self.queue_arn, self.function = queue_url, queue_arn, function
        self.batch_size = min(batch_size, 10)  # ReceiveMessage returns at most 10
        self.stop = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size,
                                                    WaitTimeSeconds=0, AttributeNames=["All"]).get("Messages", [])
                if not messages:
                    self.stop.wait(SHORT_POLL_PAUSE_S)
                    continue
                self._process_batch(messages)
        except Exception as error:  # reported by the runner, which stops waiting
            self.error = error

    def _process_batch(self, messages: list[dict]) -> None:
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs", "eventSourceARN": self.queue_arn, "awsRegion": "us-east-1"}
                   for m in messages]
        reply = self.lambda_.invoke(FunctionName=self.function, Payload=json.dumps({"Records": records}).encode())
        answer = json.loads(reply["Payload"].read() or b"{}")
        failed = set() if reply.get("FunctionError") is None else {m["MessageId"] for m in messages}
        failed |= {f.get("itemIdentifier") for f in (answer or {}).get("batchItemFailures") or []} \
            if isinstance(answer, dict) else set()
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)])


def results(endpoint: str, table: str, run_id: str) -> list[dict]:
    """The items the function wrote for this run's uploads (read once the run's usage is captured)."""
    ddb, items, kwargs = aws.client("dynamodb", endpoint), [], {}
    while True:
        page = ddb.scan(TableName=table, FilterExpression="#r = :run", ExpressionAttributeNames={"#r": "run"},
                        ExpressionAttributeValues={":run": {"S": run_id}}, **kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def _epoch_ms(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


def latencies_ms(items: list[dict]) -> list[float]:
    """Upload to processed, per upload: the function's finish time minus S3's event time."""
    return sorted(float(i["finished_ms"]["N"]) - _epoch_ms(i["event_time"]["S"]) for i in items)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 240 values is the 228th smallest)."""
    if not values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(values) - 1e-9))
    return values[min(rank, len(values)) - 1]


def latency_summary(items: list[dict]) -> dict:
    values = latencies_ms(items)
    return {"p50": round(percentile(values, 0.50), 1), "p95": round(percentile(values, 0.95), 1),
            "max": round(max(values), 1) if values else 0.0,
            "mean": round(statistics.fmean(values), 1) if values else 0.0}


def throughput_per_s(items: list[dict]) -> float:
    """Uploads processed per second, from the first upload's event time to the last finish."""
    if not items:
        return 0.0
    first = min(_epoch_ms(i["event_time"]["S"]) for i in items)
    last = max(float(i["finished_ms"]["N"]) for i in items)
    return round(len(items) / max((last - first) / 1000, 0.001), 2)


def remove(endpoint: str, bucket: str, table: str, run_id: str, items: list[dict]) -> None:
    """Deletes this run's uploads and result items (after the usage was captured)."""
    s3, ddb = aws.client("s3", endpoint), aws.client("dynamodb", endpoint)
    kwargs = {}
    while True:
        page = s3.list_objects_v2(Bucket=bucket, Prefix=f"uploads/{run_id}/", **kwargs)
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        if not page.get("IsTruncated"):
            break
        kwargs = {"ContinuationToken": page["NextContinuationToken"]}
    for start in range(0, len(items), 25):
        ddb.batch_write_item(RequestItems={table: [{"DeleteRequest": {"Key": {"key": i["key"]}}}
                                                   for i in items[start:start + 25]]})

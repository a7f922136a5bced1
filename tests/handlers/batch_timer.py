"""A test function for event source mappings: reports when each SQS batch started and ended.

It holds each batch for SLEEP_SECONDS (so batches that run at once overlap measurably), then
sends one report to OUTPUT_QUEUE_URL: the batch's start and end times and, for each record, its
body and the SQS attributes that say when it was sent and first received, and how many times.
"""

import json
import os
import time

import boto3

SQS = boto3.client("sqs")


def handler(event, context):
    started = time.time()
    time.sleep(float(os.environ.get("SLEEP_SECONDS", "0")))
    records = [{"body": record["body"],
                "sent_ms": int(record["attributes"]["SentTimestamp"]),
                "first_received_ms": int(record["attributes"]["ApproximateFirstReceiveTimestamp"]),
                "receives": int(record["attributes"]["ApproximateReceiveCount"])}
               for record in event["Records"]]
    SQS.send_message(QueueUrl=os.environ["OUTPUT_QUEUE_URL"],
                     MessageBody=json.dumps({"start": started, "end": time.time(), "records": records}))
    return {"batchItemFailures": []}

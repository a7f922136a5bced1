"""A test function for SQS batches that reports when each invocation ran and in which process.

Each invocation holds its batch for HOLD_SECONDS (so two pollers have time to be busy at
once) and sends one report per invocation to OUTPUT_QUEUE_URL: the bodies it handled, its
start and end (wall clock) and its process id.
"""

import json
import os
import time

import boto3

SQS = boto3.client("sqs")


def handler(event, context):
    started = time.time()
    time.sleep(float(os.environ.get("HOLD_SECONDS", "0.5")))
    SQS.send_message(
        QueueUrl=os.environ["OUTPUT_QUEUE_URL"],
        MessageBody=json.dumps({"bodies": [r["body"] for r in event["Records"]], "start": started,
                                "end": time.time(), "pid": os.getpid()}),
    )
    return {"batchItemFailures": []}

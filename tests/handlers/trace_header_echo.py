"""Says which X-Ray trace header its invocation ran with; optionally sends a message (so SQS records
the header as AWSTraceHeader) or forwards what an SQS record carried (tests/test_tracing.py)."""

import json
import os

import boto3


def handler(event, context):
    header = os.environ.get("_X_AMZN_TRACE_ID", "")
    if "send_to" in event:
        boto3.client("sqs").send_message(QueueUrl=event["send_to"], MessageBody=json.dumps({"sent_under": header,
                                                                                     "report_to": event.get("report_to")}))
    for record in event.get("Records", []):
        body = json.loads(record["body"])
        boto3.client("sqs").send_message(QueueUrl=body["report_to"], MessageBody=json.dumps({
            "consumer_header": header, "record_trace_header": record["attributes"].get("AWSTraceHeader")}))
    return {"trace_header": header}

"""Tracing: lab 11's traces gathered from what the engine recorded, and Lambda's X-Ray trace headers.

- A valid submission's trace shows intake → queue → store → table, every hop with the same
  correlation id; an unstorable one's shows three store attempts and ends in the DLQ; `make trace`
  prints both and says where ids come from when the id is missing or unknown.
- Lambda runs each invocation under an X-Ray trace header decided by its TracingConfig (PassThrough:
  not sampled unless the caller sampled; Active: sampled), continues API Gateway's trace, and an SQS
  consumer gets the producer's header as the record's AWSTraceHeader (stock LocalStack samples every
  invocation and starts a new trace behind API Gateway: EDALAB_STOCK_SERVICES=lambda fails here).
"""

from __future__ import annotations

import json
import re

from edalab.waiting import wait_for
from support import create_function, create_queue, receive_all

ROOT = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")


def header_parts(header: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in header.split(";") if "=" in part)


def invoke(lam, name: str, event: dict) -> dict:
    answer = lam.invoke(FunctionName=name, Payload=json.dumps(event))
    assert "FunctionError" not in answer, answer["Payload"].read()
    return header_parts(json.loads(answer["Payload"].read())["trace_header"])


def set_tracing(lam, name: str, mode: str) -> None:
    lam.update_function_configuration(FunctionName=name, TracingConfig={"Mode": mode})
    wait_for(lambda: lam.get_function_configuration(FunctionName=name), what=f"{name}'s tracing mode {mode}",
             until=lambda config: config.get("LastUpdateStatus") == "Successful"
             and config.get("TracingConfig", {}).get("Mode") == mode)


def test_trace_headers_follow_the_tracing_mode_and_a_consumer_gets_the_producers_header(engine, unique):
    lam, sqs = engine.client("lambda"), engine.client("sqs")
    passing, active, consumer = (f"trace-{kind}-{unique}" for kind in ("pass", "active", "consumer"))
    for name in (passing, active, consumer):
        create_function(lam, name, "trace_header_echo.py")
    set_tracing(lam, active, "Active")

    unsampled = invoke(lam, passing, {})  # PassThrough, and the caller made no sampling decision
    assert ROOT.fullmatch(unsampled["Root"]) and re.fullmatch(r"[0-9a-f]{16}", unsampled["Parent"])
    assert unsampled["Sampled"] == "0", unsampled
    sampled = invoke(lam, active, {})
    assert sampled["Sampled"] == "1" and sampled["Root"] != unsampled["Root"], sampled

    inbox, inbox_arn = create_queue(sqs, f"trace-in-{unique}", VisibilityTimeout="30")
    reports, _ = create_queue(sqs, f"trace-out-{unique}")
    lam.create_event_source_mapping(EventSourceArn=inbox_arn, FunctionName=consumer, BatchSize=1)
    producer = invoke(lam, active, {"send_to": inbox, "report_to": reports})
    [report] = receive_all(sqs, reports, expected=1, timeout=60)
    seen = json.loads(report["Body"])
    carried = header_parts(seen["record_trace_header"] or "")
    assert carried.get("Root") == producer["Root"], seen  # the producer's trace rides on the message
    consumer_header = header_parts(seen["consumer_header"])
    assert ROOT.fullmatch(consumer_header["Root"]) and consumer_header["Root"] != producer["Root"]  # linked, not continued
    assert consumer_header["Sampled"] == "0"  # the consumer is PassThrough

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
import urllib.request
from argparse import Namespace
from datetime import UTC, datetime

import pytest
from rich.console import Console

from edalab import labs, tracing
from edalab.queue_cleanup import remove_messages
from edalab.tracing import command
from edalab.waiting import wait_for
from support import FAST_PARAMETERS, create_function, create_queue, deploy_lab, receive_all

STACK = "edalab-11-capstone-feedback"

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


@pytest.fixture(scope="module")
def pipeline(lab_engine):
    """Lab 11's reference pipeline with the test settings; returns the POST /feedback URL."""
    deploy_lab(labs.find("11"), lab_engine.endpoint, solution=True)
    return f"{lab_engine.endpoint}/_aws/execute-api/edalab-feedback/local/feedback"


def post(url: str, feedback: dict, correlation_id: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, data=json.dumps(feedback).encode(), method="POST", headers={
        "Content-Type": "application/json", "X-Correlation-Id": correlation_id})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status, json.loads(answer.read()), dict(answer.headers)


def printed(lines: list) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    for line in lines:
        console.print(line)
    return console.export_text()


def test_a_stored_and_a_dead_lettered_submission_as_the_engine_recorded_them(lab_engine, pipeline, unique):
    endpoint = lab_engine.endpoint
    good, poison = f"trace-ok-{unique}", f"trace-dlq-{unique}"
    feedback = {"name": "Ada", "email": "ada@example.com", "rating": 4, "message": "Quick delivery."}
    status, answer, headers = post(pipeline, {**feedback, "order_id": "A-1001"}, good)
    assert status == 202 and answer["correlation_id"] == good
    api_trace = header_parts(headers["X-Amzn-Trace-Id"])["Root"]
    # an empty order id passes the intake, but the table's by-order index refuses it: unstorable
    status, unstorable, _ = post(pipeline, {**feedback, "order_id": ""}, poison)
    assert status == 202
    dlq_url = lab_engine.client("sqs").get_queue_url(QueueName="edalab-feedback-dlq")["QueueUrl"]
    try:
        stored = wait_for(lambda: tracing.gather(endpoint, good), what=f"{good}'s trace to reach the table",
                          timeout=30, until=lambda trace: trace.complete)
        assert [hop.kind for hop in stored.hops] == ["intake", "queue", "store", "table"], stored.hops
        assert {hop.correlation_id for hop in stored.hops} == {good}
        assert [hop.outcome for hop in stored.hops] == ["accepted", "delivered", "stored", "written"]
        assert stored.feedback_ids == [answer["feedback_id"]] and stored.outcome == "stored"
        assert not stored.ended_in_dlq and stored.hops[2].attempt == 1
        assert all(hop.duration_ms is not None and hop.duration_ms >= 0 for hop in stored.hops)
        starts = [hop.started_at for hop in stored.hops]
        assert starts == sorted(starts) and stored.hops[-1].started_at <= stored.ended_at
        # X-Ray: the intake (TracingConfig Active) continued API Gateway's trace
        assert stored.hops[0].details["xray_trace_id"] == api_trace

        # the same feedback delivered again, as SQS may: a second message, stored once
        item = tracing.read_records(endpoint, good).items[answer["feedback_id"]]
        again = {name: value for name, value in item.items() if name not in ("status", "stored_at")}
        lab_engine.client("sqs").send_message(
            QueueUrl=lab_engine.client("sqs").get_queue_url(QueueName="edalab-feedback")["QueueUrl"],
            MessageBody=json.dumps(again, default=str),
            MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": good}})
        twice = wait_for(lambda: tracing.gather(endpoint, good), what=f"{good}'s second delivery",
                         timeout=30, until=lambda trace: sum(hop.kind == "store" for hop in trace.hops) == 2)
        assert [(hop.kind, hop.outcome, hop.attempt) for hop in twice.hops if hop.kind in ("queue", "store")] == [
            ("queue", "delivered", 1), ("store", "stored", 1), ("queue", "delivered", 1), ("store", "duplicate", 1)]
        assert twice.complete and twice.outcome == "stored"

        visibility = int(FAST_PARAMETERS[STACK]["VisibilityTimeout"])
        parked = wait_for(lambda: tracing.gather(endpoint, poison), what=f"{poison}'s trace to end in the DLQ",
                          timeout=30 + 4 * visibility, until=lambda trace: trace.ended_in_dlq)
        stores = [hop for hop in parked.hops if hop.kind == "store"]
        assert [(hop.attempt, hop.outcome) for hop in stores] == [(1, "failed"), (2, "failed"), (3, "failed")]
        assert "order_id" in stores[0].details["error"]
        assert [hop.outcome for hop in parked.hops if hop.kind == "queue"] == ["delivered", "retry", "retry"]
        assert parked.hops[-1].kind == "dlq" and parked.hops[-1].details["receive_count"] == 3
        assert parked.outcome == "dead-lettered" and not parked.complete
        assert {hop.correlation_id for hop in parked.hops} == {poison}
        assert parked.feedback_ids == [unstorable["feedback_id"]]
        # the message carried the intake's X-Ray trace header; each store attempt ran in a trace of its own
        intake_trace = parked.hops[0].details["xray_trace_id"]
        assert header_parts(parked.hops[-1].details["aws_trace_header"])["Root"] == intake_trace
        assert len({hop.details["xray_trace_id"] for hop in stores} | {intake_trace}) == 4

        said: list = []
        assert command.main(endpoint, Namespace(id=good), said.append) == 0
        text = printed(said)
        assert f"trace {good}  stored" in text and "store #1" in text and "written" in text
        said = []
        assert command.main(endpoint, Namespace(id=poison), said.append) == 0
        text = printed(said)
        assert "store #3" in text and "◆ DLQ" in text and "dead-lettered after 3 failed receives" in text
        said = []
        assert command.main(endpoint, Namespace(id=None), said.append) == 2
        text = printed(said)
        assert "make trace ID=<correlation id>" in text and "X-Correlation-Id" in text and good in text
        said = []
        assert command.main(endpoint, Namespace(id=f"nobody-{unique}"), said.append) == 1
        assert "No hop recorded the correlation id" in printed(said)
        said = []
        assert command.main(endpoint, Namespace(id="not an id!"), said.append) == 2
        assert "cannot be a correlation id" in printed(said)
    finally:
        remove_messages(lab_engine.client("sqs"), dlq_url, lambda body: poison in body)
        for feedback_id in (answer["feedback_id"],):
            lab_engine.client("dynamodb").delete_item(TableName="edalab-feedback",
                                                      Key={"feedback_id": {"S": feedback_id}})


@pytest.mark.parametrize("timestamp", [1e20, float("nan"), 1_795_000_000_000_000_000, "2026-13-45 07:30:00,123+0000",
                                       "9999-12-31 23:59:59,000-2359", True, None])
def test_a_log_line_whose_timestamp_no_clock_can_hold_keeps_the_time_its_event_was_recorded(timestamp):
    recorded_ms = 1_795_000_000_123
    message = json.dumps({"timestamp": timestamp, "hop": "store", "event": "stored", "correlation_id": "c-1"})
    line = tracing.records.parse_line("intake", {"message": message, "timestamp": recorded_ms})
    assert line.hop == "store"
    assert line.at == datetime.fromtimestamp(recorded_ms / 1000, UTC)
    assert tracing.records.parse_time(timestamp) is None


def test_a_powertools_timestamp_is_read_to_the_millisecond_in_its_own_zone():
    at = tracing.records.parse_time("2026-11-24 09:30:00,123+0200")
    assert at == datetime(2026, 11, 24, 7, 30, 0, 123000, UTC)

"""Lab 11 (the capstone) with the reference solution: a feedback posted to the API is stored
once with its correlation id on every hop (answer, header, queue message, item, both functions'
log lines), also when SQS delivers its message twice; a low rating reaches the support queue
with its attributes; every kind of bad input the issue lists gets a 400 with a reason, never a
5xx, and nothing of it is queued or stored. Near misses of the exercise fail the check at the
step of the part they break, naming it. (The check on the pristine exercise and on the solution,
including the unstorable feedback's DLQ, alarm, email and SMS, runs in test_labs.py; the
2,000-submission load run in test_lab11_load.py.)"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid

import pytest

from edalab import bootstrap, labs, mail, sms
from edalab.checks import json_log_lines
from edalab.queue_peek import queue_messages
from edalab.waiting import wait_for
from support import assert_near_miss_fails, deploy_lab

LAB = "11"
TEMPLATE = "labs/11-capstone-feedback/template.yaml"
STORE_CODE = "handlers/feedback_store/app.py"


def test_the_pristine_lab_answers_with_what_is_missing(lab_engine):
    """Before the exercise the API and the intake work: bad input is refused as always, and a
    valid feedback gets a 503 saying the queue is the exercise (never a bare 5xx)."""
    lab = labs.find(LAB)
    deploy_lab(lab, lab_engine.endpoint, solution=False)
    api = f"{lab_engine.endpoint}/_aws/execute-api/edalab-feedback/local"
    status, body, headers = call("POST", f"{api}/feedback", json.dumps(feedback("pristine")).encode(),
                                 {"X-Correlation-Id": "pristine-1"})
    assert status == 503 and "the queue edalab-feedback does not exist yet" in body["message"], body
    assert body["correlation_id"] == headers["x-correlation-id"] == "pristine-1"
    assert call("POST", f"{api}/feedback", b"{}")[0] == 400


@pytest.fixture(scope="module")
def capstone(lab_engine):
    lab = labs.find(LAB)
    deploy_lab(lab, lab_engine.endpoint, solution=True)
    outputs = bootstrap.stack_outputs(lab.stack.name, lab_engine.endpoint)
    api = f"{lab_engine.endpoint}/_aws/execute-api/{outputs['ApiId']}/local"
    return lab_engine, outputs, api


def call(method: str, url: str, data: bytes | None = None, headers: dict | None = None):
    """(status, parsed body, response headers); any status is an answer."""
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text, got = response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, text, got = error.code, error.read().decode(), dict(error.headers)
    return status, (json.loads(text) if text else None), {k.lower(): v for k, v in got.items()}


def feedback(run: str, **changes) -> dict:
    return {"name": f"Test {run}", "email": "test@example.com", "rating": 4, "message": f"Fine ({run})", **changes}


def lines(engine, function: str, correlation_id: str) -> list[dict]:
    return [line for line in json_log_lines(engine.client("logs"), function)
            if line.get("correlation_id") == correlation_id]


def test_a_feedback_is_stored_once_with_its_correlation_id_on_every_hop(capstone):
    engine, outputs, api = capstone
    run = uuid.uuid4().hex[:8]
    correlation_id = f"test-{run}"
    status, body, headers = call("POST", f"{api}/feedback", json.dumps(feedback(run, order_id="O-7")).encode(),
                                 {"X-Correlation-Id": correlation_id})
    assert status == 202, body
    assert body["correlation_id"] == correlation_id and body["status"] == "accepted"
    assert headers["x-correlation-id"] == correlation_id
    feedback_id = body["feedback_id"]

    status, item, _ = wait_for(lambda: call("GET", f"{api}/feedback/{feedback_id}"), what="the stored feedback",
                               timeout=30, until=lambda answer: answer[0] == 200)
    assert item["correlation_id"] == correlation_id and item["status"] == "stored"
    assert (item["name"], item["rating"], item["order_id"]) == (f"Test {run}", 4, "O-7")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", item["stored_at"])
    assert item["received_at"] <= item["stored_at"]

    intake = lines(engine, "feedback-intake", correlation_id)
    assert [line["event"] for line in intake] == ["accepted"]  # a 4 is not escalated
    store = wait_for(lambda: lines(engine, "feedback-store", correlation_id), what="the store's lines",
                     until=lambda found: len(found) >= 2)
    assert [line["event"] for line in store] == ["received", "stored"]
    assert store[0]["queue_message_id"] == intake[0]["queue_message_id"] and store[0]["receive_count"] == 1
    for line in intake + store:
        assert {"service", "level", "message", "timestamp", "function_request_id", "cold_start"} <= line.keys()
    assert {line["hop"] for line in intake} == {"intake"} and {line["hop"] for line in store} == {"store"}

    # the same message again, as SQS may deliver it: nothing is written
    message = {k: v for k, v in item.items() if k not in ("status", "stored_at")}
    engine.client("sqs").send_message(QueueUrl=outputs["FeedbackQueueUrl"], MessageBody=json.dumps(message),
                                      MessageAttributes={"correlation_id": {"DataType": "String",
                                                                            "StringValue": correlation_id}})
    store = wait_for(lambda: lines(engine, "feedback-store", correlation_id), what="the duplicate's lines",
                     until=lambda found: len(found) >= 4)
    assert [line["event"] for line in store] == ["received", "stored", "received", "duplicate"]
    assert call("GET", f"{api}/feedback/{feedback_id}")[1] == item

    # no header: the intake makes an id and answers with it
    status, body, headers = call("POST", f"{api}/feedback", json.dumps(feedback(run)).encode())
    assert status == 202 and headers["x-correlation-id"] == body["correlation_id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", body["correlation_id"])
    assert call("GET", f"{api}/feedback/nothing-{run}")[0] == 404


def test_a_low_rating_reaches_the_support_queue_with_its_attributes(capstone):
    engine, outputs, api = capstone
    run = uuid.uuid4().hex[:8]
    status, body, _ = call("POST", f"{api}/feedback", json.dumps(feedback(run, rating=2)).encode(),
                           {"X-Correlation-Id": f"low-{run}"})
    assert status == 202
    found = wait_for(lambda: [m for m in queue_messages(engine.endpoint, outputs["SupportQueueUrl"]) if run in m.body],
                     what="the escalation in the support queue", timeout=20)
    assert json.loads(found[0].body)["feedback_id"] == body["feedback_id"]
    attributes = {k: (v["DataType"], v["StringValue"]) for k, v in found[0].message_attributes.items()}
    assert attributes == {"correlation_id": ("String", f"low-{run}"), "rating": ("Number", "2")}
    escalated = [line for line in lines(engine, "feedback-intake", f"low-{run}") if line["event"] == "escalated"]
    assert len(escalated) == 1 and escalated[0]["sns_message_id"]


BAD_INPUT = [
    ("malformed JSON", b'{"name": "Ada", "rating": ', {}, "not valid JSON"),
    ("a JSON list", b"[1, 2]", {}, "must be a JSON object"),
    ("a list nested 8,000 deep", b"[" * 8000 + b"]" * 8000, {}, "must be a JSON object"),
    ("a name nested 2,000 deep", b'{"name": ' + b"[" * 2000 + b"]" * 2000 + b"}", {}, "'name' must be a string"),
    ("wrong types", json.dumps({"name": ["Ada"], "email": 3, "rating": "5", "message": None}).encode(), {},
     "'rating' must be a whole number"),
    ("a rating of 4.5", json.dumps(feedback("x", rating=4.5)).encode(), {}, "not 4.5"),
    ("a rating of true", json.dumps(feedback("x", rating=True)).encode(), {}, "not true/false"),
    ("a 2,001-character message", json.dumps(feedback("x", message="m" * 2001)).encode(), {}, "2,001 characters"),
    ("an unknown field", json.dumps(feedback("x", coupon="FREE")).encode(), {}, "unknown field(s) 'coupon'"),
    ("a 300 KB body", json.dumps(feedback("x", message="m" * 300_000)).encode(), {}, "bytes; a feedback may be"),
    ("a missing body", None, {}, "the body is empty"),
    ("an empty body", b"", {}, "the body is empty"),
    ("a body of spaces", b"   ", {}, "the body is empty"),
    ("bytes that are not UTF-8", b'{"name": "Ad\xe9", "email": "a@b.example", "rating": 3, "message": "x"}', {},
     "not UTF-8"),
    ("a form body", b"name=Ada&rating=5", {"Content-Type": "application/x-www-form-urlencoded"}, "not valid JSON"),
    ("a correlation id with spaces", None, {"X-Correlation-Id": "my id"}, "X-Correlation-Id"),
    ("a 65-character correlation id", None, {"X-Correlation-Id": "c" * 65}, "X-Correlation-Id"),
    ("a correlation id with a quote", None, {"X-Correlation-Id": 'abc"def'}, "X-Correlation-Id"),
]


@pytest.mark.parametrize("what, data, headers, reason", BAD_INPUT, ids=[case[0] for case in BAD_INPUT])
def test_bad_input_is_refused_with_a_reason_and_never_queued(capstone, what, data, headers, reason):
    engine, outputs, api = capstone
    run = uuid.uuid4().hex[:8]
    if data is None and "X-Correlation-Id" in headers:  # a good body, a bad header
        data = json.dumps(feedback(run)).encode()
    headers = {"X-Correlation-Id": f"bad-{run}", **headers}
    status, body, answered = call("POST", f"{api}/feedback", data, headers)
    assert status == 400, (what, status, body)
    assert isinstance(body["errors"], list) and body["errors"] and any(reason in e for e in body["errors"]), body
    assert body["message"].startswith("the feedback was not accepted: ")
    assert answered["x-correlation-id"] == body["correlation_id"]
    refused = wait_for(lambda: lines(engine, "feedback-intake", body["correlation_id"]), what="the refusal's line",
                       until=bool)
    assert [line["event"] for line in refused] == ["refused"]
    assert not [m for m in queue_messages(engine.endpoint, outputs["FeedbackQueueUrl"]) if run in m.body]
    assert not lines(engine, "feedback-store", body["correlation_id"])


def test_the_check_names_each_missing_part_of_the_template(lab_engine, tmp_path):
    """Three mistakes at once: each of the first three steps fails, naming its part."""
    lab = labs.find(LAB)
    report = assert_near_miss_fails(lab, lab_engine.endpoint, tmp_path, {TEMPLATE: [
        ("        maxReceiveCount: 3", "        maxReceiveCount: 5"),
        ("      FunctionResponseTypes: [ReportBatchItemFailures]\n", ""),
        ("""  SupportSms:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref SupportAlertsTopic
      Protocol: sms
      Endpoint: !Ref SupportPhoneNumber
""", ""), ("DependsOn: [SupportEmail, SupportSms]", "DependsOn: [SupportEmail]"),
    ]}, "The queue edalab-feedback sends", ["maxReceiveCount is 5", "exactly 3"], hint=1)
    by_number = {r.number: r for r in report.results}
    assert by_number[2].status == "failed" and "ReportBatchItemFailures" in by_number[2].message
    assert by_number[2].hint == 2
    assert by_number[3].status == "failed" and "no sms subscription to +15555550100" in by_number[3].message
    assert by_number[3].hint == 3


def test_without_the_mapping_the_check_names_it_and_removes_its_feedback_from_the_queue(lab_engine, tmp_path):
    """Nothing takes the check's feedback off the queue when no mapping feeds the store: the
    check names the mapping, still runs the steps that need only the queues, and removes its
    feedback from the queue at once instead of waiting for a store that never comes."""
    lab = labs.find(LAB)
    report = assert_near_miss_fails(lab, lab_engine.endpoint, tmp_path, {TEMPLATE: [("""  StoreMapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !Ref StoreFunction
      EventSourceArn: !GetAtt FeedbackQueue.Arn
      BatchSize: 10
      FunctionResponseTypes: [ReportBatchItemFailures]
""", "")]}, "feedback-store reads edalab-feedback", ["no event source mapping", "StoreFunction"], hint=2)
    passed = {r.title for r in report.results if r.status == "passed"}
    assert {"Invalid feedback is refused with every reason and never queued",
            "A rating of 2 reaches the support team's queue, and a rating of 4 does not"} <= passed, report.results
    queue_url = bootstrap.stack_outputs(lab.stack.name, lab_engine.endpoint)["FeedbackQueueUrl"]
    assert not [m for m in queue_messages(lab_engine.endpoint, queue_url) if "The check's" in m.body]


def test_the_check_catches_a_store_that_writes_a_repeated_message_again(lab_engine, tmp_path):
    """The later steps still run: the unstorable feedback is dead-lettered, the alarm's email and
    SMS arrive, and the check then removes them, leaving the inbox and the SMS as they were."""
    lab = labs.find(LAB)
    inbox_before = sorted(m.key for m in mail.read_inbox(lab_engine.endpoint))
    sms_before = [(s.phone_number, s.message) for s in sms.read(lab_engine.endpoint)]
    report = assert_near_miss_fails(lab, lab_engine.endpoint, tmp_path, {STORE_CODE: [
        ('TABLE.put_item(Item=item, ConditionExpression="attribute_not_exists(feedback_id)")',
         "TABLE.put_item(Item=item)"),
    ]}, "The same message delivered twice is stored once", ["'duplicate'", "conditional write"], hint=4)
    passed = {r.title.split(",")[0] for r in report.results if r.status == "passed"}
    assert "Feedback the store cannot write ends in edalab-feedback-dlq after exactly 3 receives" in passed
    assert "The DLQ alarm fires" in passed
    assert sorted(m.key for m in mail.read_inbox(lab_engine.endpoint)) == inbox_before
    assert [(s.phone_number, s.message) for s in sms.read(lab_engine.endpoint)] == sms_before

"""Lab 11 check: the customer-feedback pipeline, end to end.

First it looks for each part the exercise adds to template.yaml (the queue and its DLQ, the
event source mapping with partial batch responses, the DLQ alarm with its email and SMS
subscriptions) and names the one that is missing. Then it plays the pipeline through the API:
a valid feedback is stored exactly once, also when SQS delivers its message twice; invalid ones
are refused with every reason and never queued; a rating of 2 reaches the support team's queue
and a 4 does not; a feedback the store cannot write (its order id is "", which the table's
`by-order` index cannot hold) ends in the DLQ after exactly 3 receives, the alarm fires and the
support team gets the email and the SMS; and the traces, read from what the engine recorded,
follow each correlation id through its hops.

For its run the check shortens the queue's visibility timeout to at most 9 s (3x the lab's
3 s function timeout), so the unstorable feedback is offered again after seconds instead of
18 s; it puts the lab's value back at the end, pass or fail. Everything it makes carries its
run id (correlation ids `check-<run>-...`, the name `Check <run>`), and it removes all of it:
the items, the messages (queue, DLQ, support queue), the alarm email and the SMS it caused.
The engine can only forget every SMS to a phone number at once, so the SMS that were there
before the check are sent again afterwards (same number and text; the engine gives them new ids).
"""

import json
import time
import uuid
from datetime import datetime

from edalab import mail
from edalab.checks import CheckFailed, json_log_lines, step
from edalab.http_call import http

QUEUE, DLQ, SUPPORT_QUEUE = "edalab-feedback", "edalab-feedback-dlq", "edalab-feedback-support"
STORE, INTAKE = "feedback-store", "feedback-intake"
ALARM = "edalab-feedback-dlq-not-empty"
ALERTS_TOPIC = "support-alerts"
EMAIL, PHONE = "support@edalab.local", "+15555550100"
CHECK_VISIBILITY = 9  # seconds, at most, during the check (3x the function's default timeout)
TEMPLATE = "labs/11-capstone-feedback/template.yaml"
# the store's error on the check's unstorable feedback is on purpose: not shown as a failure's cause
EXPECTED_ERRORS = ("ValidationException", "ClientError")


# -- reading the engine ---------------------------------------------------------------------------
def _queue_url(ctx, name: str) -> str | None:
    try:
        return ctx.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
    except ctx.client("sqs").exceptions.QueueDoesNotExist:
        return None


def _queue_attributes(ctx, name: str) -> dict:
    url = _queue_url(ctx, name)
    return ctx.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"] if url else {}


def _api(ctx, path: str) -> str:
    return ctx.api_url(ctx.output("ApiId"), "local", path)


def _post(ctx, body: object = None, correlation_id: str | None = None, raw: bytes | None = None):
    headers = {"X-Correlation-Id": correlation_id} if correlation_id else {}
    data = raw if raw is not None else json.dumps(body).encode()
    return http("POST", _api(ctx, "feedback"), raw=data, headers=headers)


def _feedback(ctx, what: str, rating: int = 4, **extra) -> dict:
    return {"name": f"Check {ctx.run}", "email": "check@example.com", "rating": rating,
            "message": f"The check's {what} feedback ({ctx.run})", **extra}


def _lines(ctx, function: str, correlation_id: str) -> list[dict]:
    logs = ctx.client("logs")
    try:
        found = json_log_lines(logs, function)
    except logs.exceptions.ResourceNotFoundException:
        return []  # the function has not run yet (a store no mapping feeds), so it has logged nothing
    return [line for line in found if line.get("correlation_id") == correlation_id]


def _events(ctx, function: str, correlation_id: str) -> list[str]:
    return [line.get("event") for line in _lines(ctx, function, correlation_id)]


def _item(ctx, feedback_id: str) -> dict | None:
    found = ctx.client("dynamodb").get_item(TableName=ctx.output("FeedbackTable"),
                                            Key={"feedback_id": {"S": feedback_id}}, ConsistentRead=True)
    item = found.get("Item")
    return {k: next(iter(v.values())) for k, v in item.items()} if item else None


def _holding(ctx, queue: str, needle: str) -> list:
    url = _queue_url(ctx, queue)
    return [m for m in ctx.queue_messages(url) if needle in m.body] if url else []


def _accept(ctx, what: str, correlation_id: str, **fields) -> str:
    """POSTs a valid feedback; returns its feedback id, or fails saying what the API answered."""
    reply = _post(ctx, _feedback(ctx, what, **fields), correlation_id)
    if reply.status != 202 or not isinstance(reply.body, dict) or "feedback_id" not in reply.body:
        raise CheckFailed(f"POST /feedback with a valid {what} feedback answered {reply.status}: {reply.text[:300]}")
    if reply.body.get("correlation_id") != correlation_id:
        raise CheckFailed(f"the API answered correlation id {reply.body.get('correlation_id')!r} for the "
                          f"X-Correlation-Id {correlation_id!r} it was sent; it must keep the caller's id")
    feedback_id = reply.body["feedback_id"]
    ctx.cleanup(lambda: ctx.client("dynamodb").delete_item(TableName=ctx.output("FeedbackTable"),
                                                           Key={"feedback_id": {"S": feedback_id}}),
                f"the check's {what} feedback in the table")
    # runs first (newest first): the item must not be written after it was deleted
    ctx.cleanup(lambda: _settle(ctx, feedback_id), f"the check's {what} feedback, from the queues")
    return feedback_id


def _settle(ctx, feedback_id: str) -> None:
    """Waits for a feedback the check sent to leave edalab-feedback (stored, or dead-lettered by
    a store that fails), then deletes it from the DLQ if it is there. It looks before it
    receives, so the learner's own messages are not received over and over."""
    if not _fed_to_store(ctx):  # nothing will take it off the queue: remove it now instead of waiting
        if _holding(ctx, QUEUE, feedback_id):
            ctx.remove_messages(_queue_url(ctx, QUEUE), feedback_id)
        return
    visibility = int(_queue_attributes(ctx, QUEUE).get("VisibilityTimeout", CHECK_VISIBILITY))
    ctx.wait_for(lambda: _holding(ctx, QUEUE, feedback_id), what=f"feedback {feedback_id} to leave {QUEUE}",
                 timeout=30 + 4 * visibility, until=lambda held: not held)
    if _holding(ctx, DLQ, feedback_id):
        ctx.remove_messages(_queue_url(ctx, DLQ), feedback_id)


def _fed_to_store(ctx) -> bool:
    """Whether an enabled event source mapping feeds edalab-feedback to feedback-store."""
    queue_arn = _queue_attributes(ctx, QUEUE).get("QueueArn")
    found = ctx.client("lambda").list_event_source_mappings(FunctionName=STORE)["EventSourceMappings"]
    return any(m.get("EventSourceArn") == queue_arn and m.get("State") in ("Enabled", "Enabling", "Creating",
                                                                           "Updating") for m in found)


# -- the parts the exercise adds ------------------------------------------------------------------
@step("The queue edalab-feedback sends a feedback to edalab-feedback-dlq after 3 receives", hint=1)
def queues(ctx):
    ctx.run = uuid.uuid4().hex[:6]
    ctx.output("ApiId")  # the stack is there
    _watch_alerts(ctx)
    queue, dlq = _queue_attributes(ctx, QUEUE), _queue_attributes(ctx, DLQ)
    missing = [name for name, attributes in ((QUEUE, queue), (DLQ, dlq)) if not attributes]
    if missing:
        raise CheckFailed(f"there is no queue {' and no queue '.join(missing)}: add "
                          f"{'them' if len(missing) == 2 else 'it'} to {TEMPLATE} between the marked lines, "
                          "then `make deploy LAB=11`")
    policy = json.loads(queue.get("RedrivePolicy") or "{}")
    if not policy:
        raise CheckFailed(f"{QUEUE} has no RedrivePolicy, so a feedback that cannot be stored would be retried "
                          f"until it expires: give it one that names {DLQ}")
    if policy.get("deadLetterTargetArn") != dlq["QueueArn"]:
        raise CheckFailed(f"{QUEUE}'s redrive policy sends to {policy.get('deadLetterTargetArn')!r}; it must be "
                          f"{DLQ} ({dlq['QueueArn']}): `!GetAtt FeedbackDeadLetterQueue.Arn`")
    if int(policy.get("maxReceiveCount", 0)) != 3:
        raise CheckFailed(f"{QUEUE}'s maxReceiveCount is {policy.get('maxReceiveCount')}; the lab asks for exactly "
                          "3 receives before a feedback goes to the DLQ")
    ctx.queue_url, ctx.dlq_url = _queue_url(ctx, QUEUE), _queue_url(ctx, DLQ)


@step("feedback-store reads edalab-feedback, reporting failed records alone", hint=2)
def mapping(ctx):
    found = ctx.client("lambda").list_event_source_mappings(FunctionName=STORE)["EventSourceMappings"]
    queue_arn = _queue_attributes(ctx, QUEUE).get("QueueArn", f"(the queue {QUEUE})")
    ours = [m for m in found if m.get("EventSourceArn") == queue_arn]
    if not ours:
        raise CheckFailed(f"no event source mapping feeds {QUEUE} to {STORE}, so nothing stores the feedback: add an "
                          f"AWS::Lambda::EventSourceMapping to {TEMPLATE} (FunctionName: !Ref StoreFunction)")
    if ours[0].get("State") not in ("Enabled", "Enabling", "Creating", "Updating"):
        raise CheckFailed(f"the mapping from {QUEUE} to {STORE} is {ours[0].get('State')}: enable it")
    if "ReportBatchItemFailures" not in (ours[0].get("FunctionResponseTypes") or []):
        raise CheckFailed(f"the mapping from {QUEUE} to {STORE} has no FunctionResponseTypes: "
                          "[ReportBatchItemFailures], so one feedback that cannot be stored would send its whole "
                          "batch back to the queue (partial batch responses, lab 06)")


@step("The DLQ alarm notifies support-alerts, which emails and texts the support team", hint=3)
def alarm_and_subscriptions(ctx):
    alarms = ctx.client("cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"]
    topic = ctx.output("SupportAlertsTopicArn")
    problems = []
    if not alarms:
        problems.append(f"there is no alarm {ALARM}")
    else:
        alarm = alarms[0]
        watched = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}.get("QueueName")
        if (alarm.get("Namespace"), alarm.get("MetricName"), watched) != ("AWS/SQS",
                                                                           "ApproximateNumberOfMessagesVisible", DLQ):
            problems.append(f"{ALARM} watches {alarm.get('Namespace')} {alarm.get('MetricName')} of {watched!r}; it "
                            f"must watch AWS/SQS ApproximateNumberOfMessagesVisible of QueueName {DLQ}")
        if topic not in alarm.get("AlarmActions", []):
            problems.append(f"{ALARM}'s AlarmActions do not name the topic {ALERTS_TOPIC} ({topic})")
        elif alarm.get("Threshold") != 0 or alarm.get("ComparisonOperator") != "GreaterThanThreshold":
            problems.append(f"{ALARM} must fire when the DLQ holds more than 0 messages (Threshold 0, "
                            "GreaterThanThreshold)")
        if "correlation_id" not in (alarm.get("AlarmDescription") or ""):
            problems.append(f"{ALARM}'s AlarmDescription does not tell the support team where the correlation "
                            "ids are: say that each message in the DLQ carries one (message attribute "
                            "correlation_id) and to run `make trace ID=<it>`; the alert carries the description")
    subscriptions = ctx.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    have = {(s["Protocol"], s["Endpoint"]) for s in subscriptions}
    for protocol, endpoint in (("email", EMAIL), ("sms", PHONE)):
        if (protocol, endpoint) not in have:
            problems.append(f"{ALERTS_TOPIC} has no {protocol} subscription to {endpoint}")
    if problems:
        raise CheckFailed("; ".join(problems) + f": add them to {TEMPLATE} and `make deploy LAB=11`")


# -- the pipeline, played through the API ---------------------------------------------------------
def _store_problem(ctx, correlation_id: str) -> str:
    """What the store's log says about this feedback, for a step that waited in vain."""
    lines = _lines(ctx, STORE, correlation_id)
    failed = [line.get("error", "") for line in lines if line.get("event") == "failed"]
    if failed:
        return f"feedback-store could not store it: {failed[-1]}"
    if not lines:
        return ("feedback-store logged nothing about it: is its handler written (`make check` shows the error "
                "it raised below), and does the mapping feed it?")
    return f"feedback-store logged {[line.get('event') for line in lines]}"


@step("A valid feedback is stored once, with its correlation id", hint=4, needs=[queues, mapping])
def stored_once(ctx):
    ctx.valid_id = f"check-{ctx.run}-valid"
    ctx.valid = _accept(ctx, "valid", ctx.valid_id, rating=4, order_id=f"O-{ctx.run}")
    # waits on the table itself: each GET is an intake invocation with a correlation id of its own,
    # and polling the API would fill the Traces page with lookups
    ctx.wait_for(lambda: _item(ctx, ctx.valid), what=f"feedback {ctx.valid} in the table", timeout=30,
                 missing=lambda _: _store_problem(ctx, ctx.valid_id))
    reply = http("GET", _api(ctx, f"feedback/{ctx.valid}"))
    if reply.status != 200 or not isinstance(reply.body, dict):
        raise CheckFailed(f"the feedback is in the table, but GET /feedback/{ctx.valid} answered {reply.status}: "
                          f"{reply.text[:300]}")
    item = reply.body
    wrong = {k: item.get(k) for k, v in (("correlation_id", ctx.valid_id), ("status", "stored"),
                                         ("rating", 4), ("order_id", f"O-{ctx.run}")) if item.get(k) != v}
    if wrong or not item.get("received_at") or not item.get("stored_at"):
        raise CheckFailed(f"the stored item is {item}; it must keep the correlation id {ctx.valid_id}, the fields, "
                          "status 'stored', received_at and stored_at (wrong or missing: "
                          f"{wrong or 'received_at/stored_at'})")
    ctx.valid_item = item
    events = ctx.wait_for(lambda: _events(ctx, STORE, ctx.valid_id), what="feedback-store's log lines about it",
                          timeout=15, until=lambda found: "stored" in found)
    if events.count("stored") != 1:
        raise CheckFailed(f"feedback-store logged {events} for one feedback: it must be stored exactly once")


@step("The same message delivered twice is stored once", hint=4, needs=[stored_once])
def delivered_twice(ctx):
    # What SQS does after a lost delete: the same message again. The store must write nothing.
    message = {k: v for k, v in ctx.valid_item.items() if k not in ("status", "stored_at")}
    ctx.client("sqs").send_message(QueueUrl=ctx.queue_url, MessageBody=json.dumps(message), MessageAttributes={
        "correlation_id": {"DataType": "String", "StringValue": ctx.valid_id}})
    ctx.cleanup(lambda: _holding(ctx, QUEUE, ctx.valid_id) and ctx.remove_messages(ctx.queue_url, ctx.valid_id),
                "the check's copy, should it be left")
    events = ctx.wait_for(lambda: _events(ctx, STORE, ctx.valid_id), what="feedback-store to receive the copy",
                          timeout=30, until=lambda found: found.count("received") >= 2 and len(found) >= 4,
                          missing=lambda found: f"feedback-store logged {found}")
    item = _item(ctx, ctx.valid)
    if events.count("stored") != 1 or "duplicate" not in events:
        raise CheckFailed(f"feedback-store logged {events} for one feedback delivered twice; the second delivery "
                          "must find the item and log 'duplicate' without writing (a conditional write, lab 06)")
    if item is None or item.get("stored_at") != ctx.valid_item["stored_at"]:
        raise CheckFailed(f"the second delivery changed the stored item (stored_at {ctx.valid_item['stored_at']} "
                          f"became {item and item.get('stored_at')}): a repeated message must write nothing")


BAD_INPUTS = {
    "malformed JSON": (b'{"name": "Ada", ', None),
    "wrong types": (json.dumps({"name": 7, "email": "ada@example.com", "rating": "five", "message": []}).encode(),
                    None),
    "a 300 KB body": (json.dumps({"name": "Ada", "email": "ada@example.com", "rating": 3,
                                 "message": "x" * 300_000}).encode(), None),
    "an empty body": (b"", None),
    "bytes that are not UTF-8": (b'{"name": "Ada \xff\xfe", "rating": 3}', None),
    "a correlation id that is not a short printable id": (None, "not a short id " + "x" * 80),
}


@step("Invalid feedback is refused with every reason and never queued", needs=[queues])
def refused(ctx):
    everything_wrong = {"name": "", "email": "not-an-address", "rating": 9, "message": "x" * 2001, "colour": "red"}
    correlation_id = f"check-{ctx.run}-invalid"
    reply = _post(ctx, everything_wrong, correlation_id)
    errors = reply.body.get("errors", []) if isinstance(reply.body, dict) else []
    wanted = ("'name'", "'email'", "'rating'", "'message'", "'colour'")
    if reply.status != 400 or not all(any(word in e for e in errors) for word in wanted):
        raise CheckFailed(f"POST /feedback with 5 mistakes answered {reply.status} {reply.text[:400]}; expected 400 "
                          f"with a reason for each of {', '.join(wanted)}")
    said = []
    for what, (raw, header) in BAD_INPUTS.items():
        body = raw if raw is not None else json.dumps(_feedback(ctx, "bad-header")).encode()
        answer = http("POST", _api(ctx, "feedback"), raw=body,
                      headers={"X-Correlation-Id": header or f"check-{ctx.run}-bad"})
        reasons = answer.body.get("errors") if isinstance(answer.body, dict) else None
        if answer.status != 400 or not reasons:
            said.append(f"{what}: {answer.status} {answer.text[:150]}")
    if said:
        raise CheckFailed("each bad input must get a 400 with a reason (never a 5xx); instead: " + "; ".join(said))
    refusals = ctx.wait_for(lambda: _events(ctx, INTAKE, correlation_id), what="the intake's 'refused' log line",
                            timeout=15, until=lambda found: "refused" in found)
    ids = (correlation_id, f"check-{ctx.run}-bad")
    queued = [m for cid in ids for m in _holding(ctx, QUEUE, cid)]
    if "accepted" in refusals + _events(ctx, INTAKE, ids[1]) or queued or any(_events(ctx, STORE, c) for c in ids):
        raise CheckFailed("a refused feedback reached the queue: only accepted feedback may be sent to it")


@step("A rating of 2 reaches the support team's queue, and a rating of 4 does not", hint=5, needs=[queues])
def escalation(ctx):
    support = ctx.output("SupportQueueUrl")
    ctx.cleanup(lambda: _holding(ctx, SUPPORT_QUEUE, ctx.run) and ctx.remove_messages(support, ctx.run),
                "the check's messages in the support queue")
    # the filter policy, on its own: a rating of 4 published to the topic must not get through
    ctx.client("sns").publish(TopicArn=ctx.output("EscalationTopicArn"),
                              Message=json.dumps(_feedback(ctx, "filter-test")), MessageAttributes={
                                  "correlation_id": {"DataType": "String", "StringValue": f"check-{ctx.run}-four"},
                                  "rating": {"DataType": "Number", "StringValue": "4"}})
    low_id = f"check-{ctx.run}-low"
    ctx.low = _accept(ctx, "low-rated", low_id, rating=2)
    arrived = ctx.wait_for(lambda: [m for m in ctx.queue_messages(support) if low_id in m.body],
                           what=f"the rating-2 feedback ({low_id}) in {SUPPORT_QUEUE}", timeout=20)
    attribute = (arrived[0].message_attributes.get("correlation_id") or {}).get("StringValue")
    if attribute != low_id:
        raise CheckFailed(f"the escalated message's correlation_id attribute is {attribute!r}, not {low_id!r}")
    fours = [m for m in ctx.queue_messages(support) if ctx.run in m.body and '"rating": 4' in m.body]
    if fours:
        raise CheckFailed(f"{SUPPORT_QUEUE} got a rating-4 feedback: its subscription's filter policy must let "
                          'only ratings of 2 or less through ({"rating": [{"numeric": ["<=", 2]}]})')


# -- the unstorable feedback, the DLQ and the alert -----------------------------------------------
def _alarm_state(ctx) -> str:
    return ctx.client("cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]["StateValue"]


def _sms(ctx) -> list[dict]:
    reply = http("GET", f"{ctx.endpoint.rstrip('/')}/_aws/sns/sms-messages?phoneNumber=%2B15555550100"
                 f"&region={ctx.client('sns').meta.region_name}")
    return ((reply.body or {}).get("sms_messages") or {}).get(PHONE, []) if isinstance(reply.body, dict) else []


def _restore_sms(ctx, before: list[dict]) -> None:
    """Forgets the SMS the check caused (the engine forgets by phone number only), then sends
    the earlier ones again."""
    if [s.get("MessageId") for s in _sms(ctx)] == [s.get("MessageId") for s in before]:
        return
    region = ctx.client("sns").meta.region_name
    http("DELETE", f"{ctx.endpoint.rstrip('/')}/_aws/sns/sms-messages?phoneNumber=%2B15555550100&region={region}")
    for sent in before:
        ctx.client("sns").publish(PhoneNumber=PHONE, Message=sent.get("Message", ""))


def _changed_at(alert: str) -> float:
    try:
        stamp = json.loads(alert)["StateChangeTime"]
        return datetime.fromisoformat(stamp.replace("Z", "+00:00").replace("+0000", "+00:00")).timestamp()
    except (ValueError, KeyError, TypeError):
        return 0.0


def _is_our_alert(text: str, since: float) -> bool:
    return ALARM in text and '"NewStateValue": "ALARM"' in text and _changed_at(text) >= since - 1


def _our_emails(ctx, since: float) -> list[mail.Mail]:
    return [m for m in mail.read_inbox(ctx.endpoint) if EMAIL in m.to and _is_our_alert(m.body, since)]


def _our_sms(ctx, since: float) -> list[dict]:
    return [s for s in _sms(ctx) if _is_our_alert(s.get("Message", ""), since)]


def _alarm_firing(ctx) -> bool:
    alarms = ctx.client("cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"]
    return bool(alarms) and alarms[0]["StateValue"] == "ALARM"


def _watch_alerts(ctx) -> None:
    """Notes how the alerts stand before the check, and registers (first, so it runs last, after
    every feedback of the check has left the queues) the removal of the alerts the check caused.
    A failed check can leave its feedback in the DLQ until its cleanup, so the alarm may fire
    then: when it is firing and was not before, the cleanup waits for its email and SMS first."""
    started, was_firing, sms_before = time.time(), _alarm_firing(ctx), _sms(ctx)

    def remove_alerts():
        if was_firing:
            return  # its alerts are from before the check
        if _alarm_firing(ctx):
            try:
                ctx.wait_for(lambda: _our_emails(ctx, started) and _our_sms(ctx, started),
                             what="the alarm's email and SMS, to remove them", timeout=20)
            except CheckFailed:
                pass  # remove what came
        mail.delete(_our_emails(ctx, started), ctx.endpoint)
        _restore_sms(ctx, sms_before)

    ctx.cleanup(remove_alerts, "the alarm's email and SMS the check caused")


@step("The DLQ starts empty and its alarm is not firing", needs=[queues, alarm_and_subscriptions])
def clean_start(ctx):
    waiting = len(ctx.queue_messages(ctx.dlq_url))
    if waiting:
        raise CheckFailed(f"{DLQ} already holds {waiting} message(s), so its alarm stays in ALARM and cannot alert "
                          "again: look at them (README step 6), then empty it with `awslocal sqs purge-queue "
                          f"--queue-url {ctx.dlq_url}` and run the check again")
    ctx.wait_for(lambda: _alarm_state(ctx), what=f"alarm {ALARM} to leave ALARM (it fired earlier; the engine looks "
                 "back over three periods)", timeout=60, until=lambda state: state != "ALARM")
    ctx.since = time.time()
    visibility = int(_queue_attributes(ctx, QUEUE)["VisibilityTimeout"])
    if visibility > CHECK_VISIBILITY:
        sqs = ctx.client("sqs")
        sqs.set_queue_attributes(QueueUrl=ctx.queue_url, Attributes={"VisibilityTimeout": str(CHECK_VISIBILITY)})
        ctx.cleanup(lambda: sqs.set_queue_attributes(QueueUrl=ctx.queue_url,
                                                     Attributes={"VisibilityTimeout": str(visibility)}),
                    f"the queue's visibility timeout back to {visibility} s")


@step("Feedback the store cannot write ends in edalab-feedback-dlq after exactly 3 receives", hint=6,
      needs=[mapping, clean_start])
def dead_lettered(ctx):
    ctx.unstorable_id = f"check-{ctx.run}-unstorable"
    # Valid for the API, but the table's by-order index cannot hold an empty key (README step 5).
    ctx.unstorable = _accept(ctx, "unstorable", ctx.unstorable_id, rating=3, order_id="")

    def receives(_=None):
        return [line.get("receive_count") for line in _lines(ctx, STORE, ctx.unstorable_id)
                if line.get("event") == "received"]

    visibility = int(_queue_attributes(ctx, QUEUE)["VisibilityTimeout"])
    parked = ctx.wait_for(lambda: _holding(ctx, DLQ, ctx.unstorable), what=f"the unstorable feedback in {DLQ}",
                          timeout=30 + 4 * visibility, until=bool,
                          missing=lambda _: f"received {len(receives())} time(s) so far; "
                                            + _store_problem(ctx, ctx.unstorable_id))
    seen = ctx.wait_for(receives, what="feedback-store's 'received' lines about it", timeout=15,
                        until=lambda counts: len(counts) >= 3, missing=lambda counts: f"{len(counts)} of 3; "
                        + _store_problem(ctx, ctx.unstorable_id))
    if sorted(seen) != [1, 2, 3]:
        raise CheckFailed(f"feedback-store received the unstorable feedback with receive counts {seen}; "
                          "maxReceiveCount 3 means exactly 3 receives (1, 2, 3), then the DLQ")
    attribute = (parked[0].message_attributes.get("correlation_id") or {}).get("StringValue")
    if attribute != ctx.unstorable_id:
        raise CheckFailed(f"the dead-lettered message's correlation_id attribute is {attribute!r}, not "
                          f"{ctx.unstorable_id!r}")


@step("The DLQ alarm fires, and the support team gets the email and the SMS", hint=3,
      needs=[dead_lettered, alarm_and_subscriptions])
def alerted(ctx):
    ctx.wait_for(lambda: _alarm_state(ctx), what=f"alarm {ALARM} in state ALARM", timeout=60,
                 until=lambda state: state == "ALARM")
    ctx.wait_for(lambda: _our_emails(ctx, ctx.since), what=f"the alarm's email to {EMAIL} (see `make mail`)",
                 timeout=30)
    ctx.wait_for(lambda: _our_sms(ctx, ctx.since), what=f"the alarm's SMS to {PHONE} (see `make mail`)", timeout=30)


@step("The traces follow each correlation id: intake → queue → store → table, and the unstorable one to the DLQ",
      hint=7, needs=[stored_once, dead_lettered])
def traces(ctx):
    from edalab import tracing

    valid = tracing.gather(ctx.endpoint, ctx.valid_id)
    kinds = [hop.kind for hop in valid.hops]
    if not valid.complete or [k for k in ("intake", "queue", "store", "table") if k not in kinds]:
        raise CheckFailed(f"the trace of {ctx.valid_id} has the hops {kinds}: " + "; ".join(valid.missing or [
            "it must go intake → queue → store → table"]) + f" (`make trace ID={ctx.valid_id}`)")
    strays = {hop.correlation_id for hop in valid.hops if hop.correlation_id} - {ctx.valid_id}
    if strays:
        raise CheckFailed(f"hops of {ctx.valid_id} recorded other correlation ids: {sorted(strays)}")
    failed = tracing.gather(ctx.endpoint, ctx.unstorable_id)
    if not failed.ended_in_dlq or failed.hops[-1].kind != "dlq":
        raise CheckFailed(f"the trace of {ctx.unstorable_id} has the hops {[h.label for h in failed.hops]}; it must "
                          f"end in the DLQ (`make trace ID={ctx.unstorable_id}`)")
    stores = [hop.attempt for hop in failed.hops if hop.kind == "store"]
    if stores != [1, 2, 3]:
        raise CheckFailed(f"the trace of {ctx.unstorable_id} shows store attempts {stores}; expected 3 (1, 2, 3)")

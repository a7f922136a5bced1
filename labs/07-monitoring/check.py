"""Lab 07 check: your oldest-message-age alarm is right and really fires, your widget is on the
dashboard with data behind it, and the processor's logs answer a Logs Insights question.

What it does, in order: reads your alarm (metric, dimensions, threshold, actions) and your
widget; sends a few poison orders of its own (correlation ids `check-<run>-<n>`) and finds them
in the logs, in your widget's metric and in a Logs Insights query; then plays a stuck consumer:
it disables the processor's event source mapping, sends 3 good orders, and waits for your alarm
to go to ALARM and email on-call; it enables the mapping again and waits for the alarm to return
to OK and email that too.

It leaves the lab as it found it: the mapping enabled, its poison orders removed from the queue
(while the mapping is off, so they are not retried into the DLQ), its good orders processed, and
the alarm emails it caused deleted, never an email from before it ran. Its poison orders are
too few for the error-rate alarm, which needs at least MinimumInvocations per period.
"""

import json
import time
import uuid
from datetime import UTC, datetime

from edalab import mail
from edalab.checks import CheckFailed, json_log_lines, step

ALERT_INBOX = "oncall@edalab.local"
AGE_METRIC = "ApproximateAgeOfOldestMessage"
QUEUE = "edalab-monitored-orders"
MAX_THRESHOLD = 300  # seconds: a stuck consumer should be noticed within minutes (and the check waits for it)
MAX_PERIOD = 60
CHECK_REJECTS = {"unknown_sku": 2, "bad_quantity": 1, "no_items": 1}  # the check's poison orders, by reason
STUCK_ORDERS = 3
EXERCISE = "labs/07-monitoring/exercise"
# errors this check causes on purpose (its poison orders): not shown as the cause when a step fails.
# "ERROR" is the processor's own `order rejected` line (level ERROR, no exception), logged before it re-raises.
EXPECTED_ERRORS = ("PoisonOrder", "ERROR")


def _traffic(ctx):
    return ctx.lab.load_module("traffic.py")


def _age_alarms(ctx) -> list[dict]:
    """Every metric alarm on the age of the oldest message of some queue."""
    found, token = [], None
    while True:
        page = ctx.client("cloudwatch").describe_alarms(**({"NextToken": token} if token else {}))
        found += [a for a in page["MetricAlarms"] if a.get("MetricName") == AGE_METRIC]
        token = page.get("NextToken")
        if not token:
            return found


def _visibility(ctx) -> int:
    return int(ctx.client("sqs").get_queue_attributes(
        QueueUrl=ctx.output("OrdersQueueUrl"), AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"])


def _alarm(ctx) -> dict:
    alarms = ctx.client("cloudwatch").describe_alarms(AlarmNames=[ctx.alarm_name])["MetricAlarms"]
    if not alarms:
        raise CheckFailed(f"alarm {ctx.alarm_name} is gone: `make deploy LAB=07` puts it back", hint=1)
    return alarms[0]


def _alarm_named_in_file(ctx) -> dict | None:
    """The alarm as deployed under the name your exercise file gives, if there is one."""
    try:
        name = json.loads((ctx.lab.folder / "exercise" / "oldest-message-alarm.json").read_text()).get("AlarmName")
    except (OSError, ValueError, AttributeError):
        return None
    found = ctx.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"] if name else []
    return found[0] if found else None


@step("Your alarm watches the age of the oldest order in edalab-monitored-orders and emails on-call", hint=1)
def age_alarm(ctx):
    ctx.run = uuid.uuid4().hex[:6]
    ctx.started = time.time()
    named = _alarm_named_in_file(ctx)
    age_alarms = _age_alarms(ctx)
    ours = ([a for a in age_alarms if {"Name": "QueueName", "Value": QUEUE} in a.get("Dimensions", [])]
            or [a for a in age_alarms if a["AlarmName"] == (named or {}).get("AlarmName")
                or any(QUEUE in str(d.get("Value")) for d in a.get("Dimensions", []))])
    if not ours and named:
        raise CheckFailed(f"your alarm {named['AlarmName']} watches {named.get('MetricName')!r} in "
                          f"{named.get('Namespace')!r}; the age of the oldest message is {AGE_METRIC}, in AWS/SQS")
    if not ours:
        raise CheckFailed(f"no alarm watches {AGE_METRIC} of {QUEUE} yet: fill in "
                          f"{EXERCISE}/oldest-message-alarm.json, then `make deploy LAB=07`")
    alarm = ours[0]
    name = alarm["AlarmName"]
    if alarm.get("Namespace") != "AWS/SQS":
        raise CheckFailed(f"alarm {name} looks in namespace {alarm.get('Namespace')!r}; SQS publishes {AGE_METRIC} "
                          "in AWS/SQS")
    if alarm.get("Dimensions") != [{"Name": "QueueName", "Value": QUEUE}]:
        raise CheckFailed(f"alarm {name} has dimensions {alarm.get('Dimensions')}; SQS publishes {AGE_METRIC} with "
                          f"exactly one, [{{\"Name\": \"QueueName\", \"Value\": \"{QUEUE}\"}}] (the queue's name, not "
                          "its URL or ARN): any other dimensions match no data")
    if alarm.get("Statistic") != "Maximum":
        raise CheckFailed(f"alarm {name} uses the statistic {alarm.get('Statistic') or alarm.get('ExtendedStatistic')}; "
                          "use Maximum: the oldest order of the period is what matters", hint=2)
    visibility = _visibility(ctx)
    threshold = alarm.get("Threshold", 0)
    if not 3 * visibility < threshold <= MAX_THRESHOLD:
        raise CheckFailed(
            f"alarm {name} fires above {threshold:g} s. Choose from what the traffic shows: a poison order is retried "
            f"for up to 3 visibility timeouts ({3 * visibility} s) before it goes to the DLQ, so the oldest order is "
            "often that old while all is well, which is no reason to wake anyone; a stuck consumer should still be "
            f"noticed within minutes (at most {MAX_THRESHOLD} s)", hint=2)
    if alarm.get("ComparisonOperator") not in ("GreaterThanThreshold", "GreaterThanOrEqualToThreshold"):
        raise CheckFailed(f"alarm {name} compares with {alarm.get('ComparisonOperator')}; it must fire when the age "
                          "goes above the threshold (GreaterThanThreshold)", hint=2)
    if alarm.get("Period", 0) > MAX_PERIOD:
        raise CheckFailed(f"alarm {name} has a period of {alarm['Period']} s; use 10 here (60 on AWS)", hint=2)
    topic = ctx.output("AlertTopicArn")
    for key, when in (("AlarmActions", "when it fires"), ("OKActions", "when it returns to OK")):
        if topic not in alarm.get(key, []):
            raise CheckFailed(f"alarm {name} does not notify {topic} {when} ({key} is {alarm.get(key, [])}): on-call "
                              "reads that topic's email", hint=3)
    ctx.alarm_name = name


def _widget_rows(widget: dict) -> list[dict]:
    """The widget's metric rows as {namespace, name, dimensions}; `"."` repeats the row above."""
    rows, previous = [], []
    for row in widget.get("properties", {}).get("metrics", []):
        if not isinstance(row, list):
            continue
        values = [v for v in row if not isinstance(v, dict)]
        values = [previous[n] if v == "." and n < len(previous) else v for n, v in enumerate(values)]
        previous = values
        if len(values) >= 2:
            dims = dict(zip(values[2::2], values[3::2], strict=False))
            rows.append({"namespace": values[0], "name": values[1], "dimensions": dims})
    return rows


@step("Your widget charts OrdersRejected by reason on the dashboard edalab-orders-health", hint=4)
def widget(ctx):
    body = json.loads(ctx.client("cloudwatch").get_dashboard(DashboardName=ctx.output("DashboardName"))["DashboardBody"])
    rows = [row for w in body.get("widgets", []) if w.get("type") == "metric" for row in _widget_rows(w)
            if row["name"] == "OrdersRejected"]
    if not rows:
        raise CheckFailed("no widget on edalab-orders-health charts OrdersRejected yet: fill in "
                          f"{EXERCISE}/rejected-widget.json, then `make deploy LAB=07`")
    if not any(row["namespace"] == "EdaLab/Orders" for row in rows):
        raise CheckFailed(f"your widget's OrdersRejected is in namespace {rows[0]['namespace']!r}; the processor "
                          "publishes it in EdaLab/Orders")
    rows = [row for row in rows if row["namespace"] == "EdaLab/Orders"]
    if not any("reason" in row["dimensions"] for row in rows):
        raise CheckFailed("your widget charts OrdersRejected without the dimension reason: one line per reason "
                          "(unknown_sku, bad_quantity, ...) is the point")
    ctx.widget_rows = rows


def _rejections(ctx) -> dict[str, str]:
    """The check's rejected orders found in the processor's log: correlation id -> reason."""
    prefix = f"check-{ctx.run}-"
    return {line["correlation_id"]: line.get("reason") for line in json_log_lines(ctx.client("logs"), ctx.output("ProcessorName"))
            if line.get("message") == "order rejected" and str(line.get("correlation_id", "")).startswith(prefix)}


def _send(ctx, label: str, body: str) -> str:
    correlation_id = f"check-{ctx.run}-{label}"
    ctx.client("sqs").send_message(QueueUrl=ctx.output("OrdersQueueUrl"), MessageBody=body, MessageAttributes={
        "correlation_id": {"DataType": "String", "StringValue": correlation_id}})
    return correlation_id


@step("The processor logs each rejected order with its reason and correlation id")
def rejected_orders(ctx):
    traffic = _traffic(ctx)
    ctx.cleanup(lambda: _remove_poison(ctx), "the check's poison orders in edalab-monitored-orders (and its DLQ)")
    sent, n = {}, 0
    for reason, count in CHECK_REJECTS.items():
        for _ in range(count):
            sent[_send(ctx, f"poison-{n}", traffic.order_body(n, f"check-{ctx.run}-order-{n}", "poison", reason))] = reason
            n += 1
    ctx.sent_rejects = sent
    found = ctx.wait_for(lambda: _rejections(ctx), what=f"the check's {len(sent)} poison orders logged as "
                         "\"order rejected\"", timeout=60, until=lambda seen: set(seen) >= set(sent),
                         missing=lambda seen: ", ".join(c for c in sent if c not in seen))
    wrong = {c: (found[c], reason) for c, reason in sent.items() if found[c] != reason}
    if wrong:
        raise CheckFailed(f"logged reasons differ from what the check sent (logged, sent): {wrong}")


def _holding(ctx, url, visible_only: bool = False) -> int:
    return sum(1 for m in ctx.queue_messages(url) if f"check-{ctx.run}-order-" in m.body
               and (not visible_only or m.attributes.get("IsVisible") == "true"))


def _mapping(ctx) -> dict:
    found = ctx.client("lambda").list_event_source_mappings(FunctionName=ctx.output("ProcessorName"))
    if not found["EventSourceMappings"]:
        raise CheckFailed("the processor has no event source mapping: `make deploy LAB=07` puts it back")
    return found["EventSourceMappings"][0]


def _set_mapping(ctx, enabled: bool) -> None:
    lam, uuid_ = ctx.client("lambda"), _mapping(ctx)["UUID"]
    lam.update_event_source_mapping(UUID=uuid_, Enabled=enabled)
    wanted = "Enabled" if enabled else "Disabled"
    ctx.wait_for(lambda: lam.get_event_source_mapping(UUID=uuid_)["State"], what=f"the mapping {wanted}",
                 timeout=30, until=lambda state: state == wanted)


def _remove_visible_poison(ctx) -> int:
    """Removes the check's poison orders once all of them are visible; returns how many are still
    queued. It receives only then, once: a receive hides every other message it meets too, and
    counts toward its redrive (3 receives and an order goes to the DLQ)."""
    url = ctx.output("OrdersQueueUrl")
    if 0 < _holding(ctx, url, visible_only=True) == _holding(ctx, url):
        ctx.remove_messages(url, f"check-{ctx.run}-order-")
    return _holding(ctx, url)


def _remove_poison(ctx) -> None:
    """With the mapping off (so they are not retried into the DLQ), waits until the check's poison
    orders are visible again, removes them, and turns the mapping back on if it was on."""
    url, dlq = ctx.output("OrdersQueueUrl"), ctx.output("DeadLetterQueueUrl")
    if _holding(ctx, url):
        was_on = _mapping(ctx)["State"] != "Disabled"
        if was_on:
            _set_mapping(ctx, False)
        try:
            ctx.wait_for(lambda: _remove_visible_poison(ctx), what="the check's poison orders removed from "
                         f"{QUEUE}", timeout=_visibility(ctx) + 30, until=lambda left: left == 0)
        finally:
            if was_on:
                _set_mapping(ctx, True)
    if _holding(ctx, dlq):
        ctx.remove_messages(dlq, f"check-{ctx.run}-order-")


def _datapoints(ctx, row: dict) -> float:
    """The sum of the row's metric since the check started (0 when it has no data points)."""
    stats = ctx.client("cloudwatch").get_metric_statistics(
        Namespace=row["namespace"], MetricName=row["name"],
        Dimensions=[{"Name": k, "Value": str(v)} for k, v in row["dimensions"].items()],
        StartTime=datetime.fromtimestamp(ctx.started - 60, UTC), EndTime=datetime.fromtimestamp(time.time() + 60, UTC),
        Period=60, Statistics=["Sum"])
    return sum(point["Sum"] for point in stats["Datapoints"])


@step("Your widget's metric has data points for the check's rejected orders", hint=4, needs=[widget, rejected_orders])
def widget_data(ctx):
    reasons = sorted(set(CHECK_REJECTS))

    def charted():
        return {reason: sum(_datapoints(ctx, row) for row in ctx.widget_rows if row["dimensions"].get("reason") == reason)
                for reason in reasons}

    def missing(counts):
        published = ctx.client("cloudwatch").list_metrics(Namespace="EdaLab/Orders", MetricName="OrdersRejected")
        example = next((m["Dimensions"] for m in published["Metrics"]), [])
        dims = ", ".join(f"{d['Name']}={d['Value']}" for d in example)
        return (f"no data for reason(s) {', '.join(r for r, n in counts.items() if not n)} in your widget's rows. "
                f"The processor publishes OrdersRejected with dimensions like {dims or 'service and reason'}: a "
                "row must name all of them, with the same values (`awslocal cloudwatch list-metrics --namespace "
                "EdaLab/Orders`)")

    ctx.wait_for(charted, what="data points behind your widget", timeout=15,
                 until=lambda counts: all(counts.values()), missing=missing)


def _insights(ctx, query: str) -> list[dict]:
    logs = ctx.client("logs")
    started = logs.start_query(logGroupName=ctx.output("LogGroupName"), startTime=int(ctx.started) - 300,
                               endTime=int(time.time()) + 60, queryString=query)
    answer = ctx.wait_for(lambda: logs.get_query_results(queryId=started["queryId"]), what="the Logs Insights query",
                          timeout=30, until=lambda a: a["status"] not in ("Scheduled", "Running"))
    if answer["status"] != "Complete":
        raise CheckFailed(f"the Logs Insights query ended {answer['status']}")
    return [{cell["field"]: cell["value"] for cell in row} for row in answer["results"]]


@step("A Logs Insights query over the lab's log group counts the check's rejected orders by reason", hint=5,
      needs=[rejected_orders])
def insights(ctx):
    query = (f'filter message = "order rejected" and correlation_id like /^check-{ctx.run}-/\n'
             "| stats count_distinct(correlation_id) as orders by reason")
    rows = _insights(ctx, query)
    found = {row.get("reason"): int(float(row.get("orders", 0))) for row in rows}
    if found != CHECK_REJECTS:
        raise CheckFailed(f"the query\n{query}\nfound {found}; the check sent {CHECK_REJECTS}. Each \"order "
                          "rejected\" line must be JSON with message, reason and correlation_id fields")


def _alarm_emails(ctx, state: str | None = None) -> list[mail.Mail]:
    """Your alarm's emails to on-call about state changes since the check took over (optionally to `state`)."""
    return [m for m in mail.read_inbox(ctx.endpoint)
            if ALERT_INBOX in m.to and ctx.alarm_name in m.body and m.received >= ctx.since
            and (state is None or f'"NewStateValue":"{state}"' in m.body.replace(" ", ""))]


def _remove_alarm_emails(ctx) -> None:
    alarm = _alarm(ctx)
    if alarm["StateValue"] == "ALARM":  # a check that failed midway: the OK email is still to come
        ctx.wait_for(lambda: _alarm(ctx)["StateValue"], what="your alarm to return to OK, to remove its emails",
                     timeout=30 + 4 * alarm["Period"], until=lambda state: state != "ALARM")
        ctx.wait_for(lambda: _alarm_emails(ctx, "OK"), what="your alarm's OK email", timeout=15)
    mail.delete(_alarm_emails(ctx), ctx.endpoint)


def _age_now(ctx) -> str:
    stats = ctx.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SQS", MetricName=AGE_METRIC, Dimensions=[{"Name": "QueueName", "Value": QUEUE}],
        StartTime=datetime.fromtimestamp(time.time() - 60, UTC), EndTime=datetime.fromtimestamp(time.time() + 10, UTC),
        Period=10, Statistics=["Maximum"])
    points = sorted(stats["Datapoints"], key=lambda p: p["Timestamp"])
    return f"the oldest order is {points[-1]['Maximum']:.0f} s old" if points else "no age reported yet"


@step("With the consumer stopped, orders wait; your alarm goes to ALARM and emails on-call", hint=3,
      needs=[age_alarm])
def stuck_consumer(ctx):
    alarm = _alarm(ctx)
    period, threshold = alarm["Period"], alarm["Threshold"]
    # An alarm already in ALARM would send no new email: wait for it to calm down first.
    ctx.wait_for(lambda: _alarm(ctx)["StateValue"], what=f"alarm {ctx.alarm_name} to leave ALARM (it was firing "
                 "before the check; is traffic running, or the mapping disabled?)", timeout=30 + 4 * period,
                 until=lambda state: state != "ALARM")
    ctx.since = time.time()  # from here on, every state change of the alarm is the check's doing
    ctx.cleanup(lambda: _remove_alarm_emails(ctx), "the alarm emails the check caused (once the alarm is back to OK)")
    ctx.cleanup(lambda: _set_mapping(ctx, True) if _mapping(ctx)["State"] != "Enabled" else None,
                "the processor's event source mapping, enabled again")
    _set_mapping(ctx, False)
    # The mapping is off: the check's poison orders can go once their visibility timeout ends.
    # Before the check's orders are sent: removing takes receives, and 3 receives send an order
    # to the DLQ.
    ctx.wait_for(lambda: _remove_visible_poison(ctx), what=f"the check's poison orders removed from {QUEUE}",
                 timeout=_visibility(ctx) + 30, until=lambda left: left == 0)
    traffic = _traffic(ctx)
    ctx.stuck = [_send(ctx, f"stuck-{n}", traffic.order_body(n, f"check-{ctx.run}-good-{n}", "good"))
                 for n in range(STUCK_ORDERS)]
    ctx.wait_for(lambda: _alarm(ctx)["StateValue"], what=f"alarm {ctx.alarm_name} in ALARM ({threshold:g} s threshold, "
                 f"{period} s period)", timeout=threshold + 3 * period + 30, interval=1,
                 until=lambda state: state == "ALARM", missing=lambda state: f"it is {state}; {_age_now(ctx)}")
    ctx.wait_for(lambda: _alarm_emails(ctx, "ALARM"), what=f"an email to {ALERT_INBOX} about {ctx.alarm_name} "
                 "going to ALARM (see `make mail`)", timeout=30)


@step("With the consumer running again, the orders are processed; your alarm returns to OK and emails that",
      hint=3, needs=[stuck_consumer])
def recovered(ctx):
    _set_mapping(ctx, True)
    prefix = f"check-{ctx.run}-stuck-"

    def processed():
        return {line["correlation_id"] for line in json_log_lines(ctx.client("logs"), ctx.output("ProcessorName"))
                if line.get("message") == "order processed" and str(line.get("correlation_id", "")).startswith(prefix)}

    ctx.wait_for(processed, what="the waiting orders processed", timeout=60,
                 until=lambda done: done >= set(ctx.stuck), missing=lambda done: ", ".join(set(ctx.stuck) - done))
    period = _alarm(ctx)["Period"]
    ctx.wait_for(lambda: _alarm(ctx)["StateValue"], what=f"alarm {ctx.alarm_name} back to OK (the engine looks back "
                 f"over three {period} s periods)", timeout=30 + 4 * period, interval=1,
                 until=lambda state: state == "OK", missing=lambda state: f"it is {state}; {_age_now(ctx)}")
    ctx.wait_for(lambda: _alarm_emails(ctx, "OK"), what=f"an email to {ALERT_INBOX} about {ctx.alarm_name} going "
                 "back to OK", timeout=30)

"""From records to hops: one correlation id's path through lab 11's pipeline, in time order.

Why this exists: the log lines say what each function did, the queues say what is still waiting or
was parked, the table says what was written; the path is what they say together. This is pure (no
engine calls), so the load run can build ~1,700 traces from one `read_records` without reading the
engine again. The rules, one per hop kind:
- intake: one hop per intake invocation that logged the id, ending at its last line and as long as
  the invocation ran (its REPORT line's Duration; never later than its `received_at` and the
  message's SentTimestamp); `accepted` or `refused` (with its errors).
- queue: from the message's SentTimestamp (the store logs it) to the first store attempt; between
  two attempts, a `retry` hop (the wait until the visibility timeout let the message go again); a
  message still on the queue is `waiting` with no end yet.
- store: one hop per receive of the message (`attempt` = its receive count), from its `received` line
  to its last line (one invocation may handle a batch of ten); `stored`, `duplicate`,
  `failed` (with the error), or `no outcome logged` (e.g. the function timed out mid-way).
- dlq: the message is on the DLQ; it starts when the last attempt ended and has no length (SQS
  records no time for the move: it happens when the last receive's visibility timeout ends).
Function hops keep the X-Ray trace id Powertools logged (`details["xray_trace_id"]`): the intake's
continues API Gateway's trace; each store attempt runs in a trace of its own, as on AWS, where it
is linked to the intake's through the message's AWSTraceHeader (`details["aws_trace_header"]` of a
dlq hop).
- table: the item, at its `stored_at`, `written`, with the correlation id it holds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edalab.tracing.model import Hop, Trace
from edalab.tracing.records import (
    FUNCTIONS,
    LOG_GROUPS,
    DLQ,
    QUEUE,
    TABLE,
    LogLine,
    Records,
    message_body,
    message_correlation_id,
    parse_time,
)

STORE_ENDINGS = ("stored", "duplicate", "failed")


def build(records: Records, correlation_id: str) -> Trace:
    lines = records.lines_of(correlation_id)
    hops: list[Hop] = []
    intakes = _intake_hops(lines, records)
    hops += intakes
    attempts = _store_hops(lines, records)
    on_queue, on_dlq = records.messages_of(correlation_id)
    queued, parked = _by_feedback(on_queue), _by_feedback(on_dlq)
    for feedback_id, messages in parked.items():  # the queue was peeked first: a message moved in between
        for message_id in messages:                # shows on both
            queued.get(feedback_id, {}).pop(message_id, None)
    accepted = [hop for hop in intakes if hop.outcome == "accepted"]
    feedback_ids = list(dict.fromkeys([hop.feedback_id for hop in accepted] + list(attempts)
                                      + [f for f in list(queued) + list(parked) if f]))
    missing: list[str] = []
    for feedback_id in feedback_ids:
        mine = attempts.get(feedback_id, [])
        intake = next((hop for hop in accepted if hop.feedback_id == feedback_id), None)
        waiting, dead = queued.get(feedback_id, {}), parked.get(feedback_id, {})
        first_queue_hops: list[Hop] = []
        for message_id, deliveries in _by_message(mine, list(waiting) + list(dead)).items():
            queue_hops = _queue_hops(feedback_id, intake, deliveries, waiting.get(message_id), correlation_id)
            first_queue_hops = first_queue_hops or queue_hops
            hops += queue_hops + deliveries
            if message_id in dead:
                hops.append(_dlq_hop(feedback_id, intake, deliveries, dead[message_id]))
        if intake is not None:
            message = next(iter(list(waiting.values()) + list(dead.values())), None)
            body = message_body(message) if message is not None else {}
            received_at = (records.items.get(feedback_id) or body).get("received_at")
            _reach_back(intake, [parse_time(received_at)] + [hop.started_at for hop in first_queue_hops[:1]])
        item = records.items.get(feedback_id)
        if item is not None:
            hops.append(_table_hop(feedback_id, item))
        missing += _missing(feedback_id, intake, mine, item, bool(dead), correlation_id)
    if intakes and not accepted and not feedback_ids:
        missing.append("the intake refused it, so it never reached the queue")
    hops.sort(key=lambda hop: (hop.started_at, _KIND_ORDER[hop.kind]))
    return Trace(correlation_id, hops, missing)


_KIND_ORDER = {"intake": 0, "queue": 1, "store": 2, "dlq": 3, "table": 4}


def _by_feedback(messages: list) -> dict[str, dict[str, object]]:
    """feedback_id -> {message id: the peeked message}."""
    found: dict[str, dict[str, object]] = {}
    for message in messages:
        found.setdefault(str(message_body(message).get("feedback_id") or ""), {})[message.message_id] = message
    return found


def _by_message(attempts: list[Hop], peeked_ids: list[str]) -> dict[str, list[Hop]]:
    """A feedback's store attempts by the queue message they received, in order: its retries are one
    message received again; a duplicate delivery is another message (its own queue hop, no retry)."""
    groups: dict[str, list[Hop]] = {}
    for hop in sorted(attempts, key=lambda hop: hop.started_at):
        groups.setdefault(str(hop.details.get("queue_message_id") or ""), []).append(hop)
    for message_id in peeked_ids:
        if message_id not in groups:  # attempts that logged no message id are that message's
            groups[message_id] = groups.pop("", [])
    return {message_id: sorted(hops, key=lambda hop: (hop.attempt or 0, hop.started_at))
            for message_id, hops in groups.items()}


def _span(lines: list[LogLine], invocation=None) -> tuple[datetime, float]:
    """From the first line to the last; with the invocation's REPORT, from its last line back by the
    invocation's Duration (the handler returns right after its last line) when that is earlier."""
    start, end = lines[0].at, lines[-1].at
    if invocation is not None:
        start = min(start, end - timedelta(milliseconds=invocation.duration_ms))
    return start, (end - start).total_seconds() * 1000


def _reach_back(intake: Hop, moments: list[datetime | None]) -> None:
    """The intake began no later than it stamped `received_at` and sent the message (SentTimestamp)."""
    earliest = min((moment for moment in moments if moment is not None), default=None)
    if earliest is not None and earliest < intake.started_at:
        end = intake.ended_at
        intake.started_at = earliest
        intake.duration_ms = (end - earliest).total_seconds() * 1000


def _intake_hops(lines: list[LogLine], records: Records) -> list[Hop]:
    hops = []
    # a GET /feedback/{id} logs `looked_up` under its own correlation id: a read, not a hop of the trace
    for request_id, group in _grouped(line for line in lines if line.hop == "intake" and line.get("event") != "looked_up"):
        events = {line.get("event"): line for line in group}
        start, duration = _span(group, records.invocations.get(request_id))
        accepted, refused = events.get("accepted"), events.get("refused")
        outcome = "accepted" if accepted else "refused" if refused else "no outcome logged"
        details = {"request_id": request_id, "xray_trace_id": group[0].get("xray_trace_id")}
        if accepted:
            details["queue_message_id"] = accepted.get("queue_message_id")
        if refused:
            details["errors"] = refused.get("errors")
        if "escalated" in events:
            details["escalated"] = events["escalated"].get("sns_message_id") or True
        hops.append(Hop("intake", FUNCTIONS["intake"], start, duration, outcome,
                        feedback_id=str(accepted.get("feedback_id") or "") if accepted else "",
                        correlation_id=group[0].get("correlation_id", ""), source=LOG_GROUPS["intake"],
                        details=details))
    return hops


def _store_hops(lines: list[LogLine], records: Records) -> dict[str, list[Hop]]:
    """feedback_id -> one hop per receive of its message."""
    by_feedback: dict[str, list[Hop]] = {}
    for request_id, group in _grouped(line for line in lines if line.hop == "store"):
        per_message: dict[str, list[LogLine]] = {}
        for line in group:
            key = str(line.get("feedback_id") or line.get("queue_message_id") or "")
            per_message.setdefault(key, []).append(line)
        for feedback_id, mine in per_message.items():
            received = next((line for line in mine if line.get("event") == "received"), None)
            ending = next((line for line in reversed(mine) if line.get("event") in STORE_ENDINGS), None)
            start, duration = _span(mine)  # a batch's invocation handles several messages: this one's lines
            details = {"request_id": request_id, "xray_trace_id": mine[0].get("xray_trace_id")}
            if received:
                details.update(queue_message_id=received.get("queue_message_id"),
                               sent_timestamp=received.get("sent_timestamp"))
            if ending is not None and ending.get("error"):
                details["error"] = ending.get("error")
            attempt = _integer(received.get("receive_count")) if received else None
            by_feedback.setdefault(feedback_id, []).append(Hop(
                "store", FUNCTIONS["store"], start, duration,
                ending.get("event") if ending is not None else "no outcome logged",
                feedback_id=feedback_id, attempt=attempt, correlation_id=mine[0].get("correlation_id", ""),
                source=LOG_GROUPS["store"], details=details))
    return by_feedback


def _queue_hops(feedback_id: str, intake: Hop | None, attempts: list[Hop], still_queued, correlation_id: str) -> list[Hop]:
    hops = []
    sent = None
    if attempts:
        sent = parse_time(_integer(attempts[0].details.get("sent_timestamp")))
    if sent is None and still_queued is not None:
        sent = parse_time(_integer(still_queued.attributes.get("SentTimestamp")))
    if sent is None and intake is not None:
        sent = intake.ended_at
    if sent is None:
        return hops
    source = f"queue {QUEUE}"
    if attempts:
        first = attempts[0].started_at
        hops.append(Hop("queue", QUEUE, sent, max(0.0, (first - sent).total_seconds() * 1000), "delivered",
                        feedback_id=feedback_id, attempt=attempts[0].attempt, correlation_id=correlation_id,
                        source=source + " (SentTimestamp, logged by the store)"))
        for before, after in zip(attempts, attempts[1:]):
            gap_from = before.ended_at or before.started_at
            hops.append(Hop("queue", QUEUE, gap_from, max(0.0, (after.started_at - gap_from).total_seconds() * 1000),
                            "retry", feedback_id=feedback_id, attempt=after.attempt, correlation_id=correlation_id,
                            source=source + " (visible again after its visibility timeout)"))
    if still_queued is not None:
        waiting_from = (attempts[-1].ended_at or attempts[-1].started_at) if attempts else sent
        hops.append(Hop("queue", QUEUE, waiting_from, None, "waiting", feedback_id=feedback_id,
                        attempt=still_queued.receives + 1, correlation_id=message_correlation_id(still_queued),
                        source=source + " (peeked now)",
                        details={"receive_count": still_queued.receives, "message_id": still_queued.message_id}))
    return hops


def _dlq_hop(feedback_id: str, intake: Hop | None, attempts: list[Hop], message) -> Hop:
    if attempts:
        at = attempts[-1].ended_at or attempts[-1].started_at
    else:
        at = parse_time(_integer(message.attributes.get("SentTimestamp"))) or (intake.started_at if intake
                                                                               else datetime.now(UTC))
    return Hop("dlq", DLQ, at, None, "dead-lettered", feedback_id=feedback_id, attempt=message.receives or None,
               correlation_id=message_correlation_id(message),
               source=f"queue {DLQ} (peeked now; SQS moved it there once the last receive's visibility timeout ended)",
               details={"receive_count": message.receives, "message_id": message.message_id,
                        "failed_attempts": sum(1 for hop in attempts if hop.outcome == "failed"),
                        "source_queue": message.attributes.get("DeadLetterQueueSourceArn", ""),
                        "aws_trace_header": message.attributes.get("AWSTraceHeader", "")})


def _table_hop(feedback_id: str, item: dict) -> Hop:
    at = parse_time(item.get("stored_at")) or datetime.now(UTC)
    return Hop("table", TABLE, at, 0.0, "written", feedback_id=feedback_id,
               correlation_id=str(item.get("correlation_id", "")), source=f"table {TABLE}",
               details={"status": item.get("status"), "received_at": item.get("received_at"),
                        "stored_at": item.get("stored_at")})


def _missing(feedback_id: str, intake: Hop | None, attempts: list[Hop], item: dict | None, parked: bool,
             correlation_id: str) -> list[str]:
    gaps = []
    if intake is None:
        gaps.append(f"no intake line accepted feedback {feedback_id}")
    if not attempts:
        gaps.append(f"the store never logged receiving feedback {feedback_id}")
    elif not any(hop.outcome in ("stored", "duplicate") for hop in attempts):
        gaps.append(f"no store attempt stored feedback {feedback_id}")
    if parked:
        gaps.append(f"feedback {feedback_id} is on the DLQ {DLQ}")
    if item is None:
        gaps.append(f"the table {TABLE} has no item for feedback {feedback_id}")
    elif item.get("correlation_id") != correlation_id:
        gaps.append(f"the item for feedback {feedback_id} holds correlation id {item.get('correlation_id')!r}")
    return gaps


def _grouped(lines) -> list[tuple[str, list[LogLine]]]:
    """Lines by the invocation that logged them, in order of each invocation's first line."""
    groups: dict[str, list[LogLine]] = {}
    for line in lines:
        groups.setdefault(str(line.get("function_request_id") or ""), []).append(line)
    return list(groups.items())


def _integer(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

"""What the engine recorded about lab 11's submissions, read once: log lines, queues, table items.

Why this exists: a trace must be built only from the engine's own records, never from what a test
or a check remembers having sent. Those records are: the JSON lines both functions logged (their log
groups, read with FilterLogEvents and a filter pattern on the correlation id), each invocation's
REPORT line (how long it ran), the messages still on the queue and on its DLQ (peeked through
LocalStack's developer endpoint, so nothing is received and no receive is counted), and the table's
items. `read_records(engine, correlation_id)` reads one id's; `read_records(engine)` reads every
record at once (the load run builds ~1,700 traces from one read). `build.py` turns them into hops.

Times: the engine stamps a whole invocation's log lines with one timestamp, when it ships them (under
load seconds after the invocation ended), so a line's own time is the `timestamp` field Powertools
writes, and an invocation lasted its REPORT line's Duration.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from edalab import aws
from edalab.queue_peek import PeekFailed, QueueMessage, queue_messages

FUNCTIONS = {"intake": "feedback-intake", "store": "feedback-store"}
LOG_GROUPS = {hop: f"/aws/lambda/{name}" for hop, name in FUNCTIONS.items()}
QUEUE, DLQ, TABLE = "edalab-feedback", "edalab-feedback-dlq", "edalab-feedback"
STACK = "edalab-11-capstone-feedback"
ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # the contract's short printable correlation id
REPORT_LINE = re.compile(r"REPORT RequestId: (\S+)\s+Duration: ([\d.]+) ms")
_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,6}))?\s*(Z|[+-]\d{2}:?\d{2})?")
REPORTS_PER_CALL = 20  # request ids OR-ed into one filter pattern
BATCH_GET_KEYS = 100  # BatchGetItem's most keys per call


class Engine:
    """The two ways records are read: boto3 clients and a queue peek. The console gives its own
    (`EngineView`'s cached clients and developer endpoint); everyone else gets this one."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._clients: dict = {}

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = aws.client(service, self.endpoint)
        return self._clients[service]

    def peek(self, queue_url: str) -> list[QueueMessage]:
        return queue_messages(self.endpoint, queue_url)


@dataclass
class LogLine:
    hop: str  # "intake" or "store": the log group it came from
    fields: dict  # the JSON line
    at: datetime  # the line's own time (Powertools' `timestamp`), else the event's

    def get(self, name: str, default=None):
        return self.fields.get(name, default)


@dataclass
class Invocation:
    request_id: str
    duration_ms: float  # the REPORT line's Duration (the event's own timestamp is when the engine shipped it)


@dataclass
class Records:
    lines: list[LogLine] = field(default_factory=list)  # oldest first
    invocations: dict[str, Invocation] = field(default_factory=dict)  # request id -> its REPORT
    queued: list[QueueMessage] = field(default_factory=list)  # on edalab-feedback, visible or in flight
    dead_lettered: list[QueueMessage] = field(default_factory=list)  # on edalab-feedback-dlq
    items: dict[str, dict] = field(default_factory=dict)  # feedback_id -> the table's item
    problems: list[str] = field(default_factory=list)  # what could not be read, and what to do
    _index: dict | None = field(default=None, repr=False)
    _indexed: int = field(default=0, repr=False)
    _messages: dict | None = field(default=None, repr=False)

    def lines_of(self, correlation_id: str) -> list[LogLine]:
        """The lines that carry `correlation_id`, oldest first (indexed once: bulk builds are fast)."""
        if self._index is None or self._indexed != len(self.lines):
            self._index, self._indexed = {}, len(self.lines)
            for line in self.lines:
                self._index.setdefault(line.get("correlation_id"), []).append(line)
        return self._index.get(correlation_id, [])

    def messages_of(self, correlation_id: str) -> tuple[list[QueueMessage], list[QueueMessage]]:
        """This id's messages on the queue and on the DLQ (indexed once, as `lines_of`)."""
        if self._messages is None:
            self._messages = {}
            for where, messages in enumerate((self.queued, self.dead_lettered)):
                for message in messages:
                    self._messages.setdefault(message_correlation_id(message), ([], []))[where].append(message)
        return self._messages.get(correlation_id, ([], []))

    def correlation_ids(self) -> list[str]:
        """Every correlation id the intake logged, oldest first."""
        seen = [line.get("correlation_id") for line in self.lines if line.hop == "intake"]
        return list(dict.fromkeys(cid for cid in seen if isinstance(cid, str) and cid))


def valid_id(correlation_id: str | None) -> bool:
    return bool(correlation_id) and ID_PATTERN.fullmatch(correlation_id) is not None


def engine_for(engine_or_endpoint) -> Engine:
    return Engine(engine_or_endpoint) if isinstance(engine_or_endpoint, str) else engine_or_endpoint


def read_records(engine_or_endpoint, correlation_id: str | None = None, since_ms: int | None = None,
                 correlation_ids: list[str] | None = None) -> Records:
    """One id's records, several ids' (`correlation_ids`), or every record (neither), at or after
    `since_ms`. Every record: one Scan of the table; some ids: only their items."""
    engine = engine_for(engine_or_endpoint)
    wanted_ids = [correlation_id] if correlation_id is not None else correlation_ids
    for given in wanted_ids or []:
        if not valid_id(given):
            raise ValueError(f"{given[:80]!r} is not a correlation id: one is 1 to 64 characters of "
                             "letters, digits and . _ : -")
    records = Records()
    if wanted_ids is not None and not wanted_ids:
        return records
    ids = set(wanted_ids or [])
    pattern = " || ".join(f'$.correlation_id = "{given}"' for given in wanted_ids) if wanted_ids else "$.hop EXISTS"
    for hop, group in LOG_GROUPS.items():
        for event in _events(engine, group, f"{{ {pattern} }}", since_ms, records.problems):
            line = parse_line(hop, event)
            if line and (not ids or line.get("correlation_id") in ids):
                records.lines.append(line)
    records.lines.sort(key=lambda line: line.at)
    _read_invocations(engine, records, since_ms, every=not ids)
    records.queued = _peek(engine, QUEUE, records.problems)  # before the DLQ: build.py relies on the order
    records.dead_lettered = _peek(engine, DLQ, records.problems)
    if ids:
        records.queued = [m for m in records.queued if message_correlation_id(m) in ids]
        records.dead_lettered = [m for m in records.dead_lettered if message_correlation_id(m) in ids]
        wanted = {line.get("feedback_id") for line in records.lines}
        wanted |= {message_body(m).get("feedback_id") for m in records.queued + records.dead_lettered}
        records.items = _items(engine, {w for w in wanted if isinstance(w, str) and w}, records.problems)
    else:
        records.items = _all_items(engine, records.problems)
    return records


def newest_ids(engine_or_endpoint, since_ms: int | None = None, limit: int = 50,
               problems: list[str] | None = None) -> list[str]:
    """The `limit` newest correlation ids the intake logged (newest last), from its log group alone
    (a missing log group is said in `problems`)."""
    engine = engine_for(engine_or_endpoint)
    seen: dict[str, None] = {}
    pattern = '{ $.correlation_id EXISTS }'
    for event in _events(engine, LOG_GROUPS["intake"], pattern, since_ms, problems if problems is not None else []):
        line = parse_line("intake", event)
        given = line.get("correlation_id") if line else None
        if line and line.get("event") == "looked_up":  # a GET reading an item back, not a submission
            continue
        if isinstance(given, str) and valid_id(given):
            seen.pop(given, None)
            seen[given] = None
    return list(seen)[-limit:]


def _events(engine: Engine, group: str, pattern: str, since_ms: int | None, problems: list[str]) -> list[dict]:
    arguments = {"logGroupName": group, "filterPattern": pattern}
    if since_ms is not None:
        arguments["startTime"] = since_ms
    events = []
    try:
        while True:
            page = engine.client("logs").filter_log_events(**arguments)
            events += page.get("events", [])
            if not page.get("nextToken"):
                return events
            arguments["nextToken"] = page["nextToken"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            problems.append(f"there is no log group {group} yet: it appears when the function first runs "
                            "(is lab 11 deployed? `make deploy LAB=11`)")
            return events
        raise


def parse_line(hop: str, event: dict) -> LogLine | None:
    """A function's structured JSON line (None for START/END/REPORT and plain prints)."""
    try:
        fields = json.loads(event.get("message", ""))
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    at = parse_time(fields.get("timestamp")) or datetime.fromtimestamp(event.get("timestamp", 0) / 1000, UTC)
    return LogLine(fields.get("hop") or hop, fields, at)


def parse_time(value) -> datetime | None:
    """Powertools' `2026-11-24 07:30:00,123+0000`, ISO-8601 with Z, or epoch milliseconds; None
    for anything else, also a time no datetime can hold (NaN, 1e20, month 13): a function may log
    any `timestamp` it likes, and the line then keeps the time its log event was recorded."""
    try:
        return _parse_time(value)
    except (ValueError, OverflowError, OSError):
        return None


def _parse_time(value) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    if not isinstance(value, str):
        return None
    match = _TIME.search(value)
    if not match:
        return None
    day, clock, fraction, zone = match.groups()
    moment = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=UTC)
    if fraction:
        moment += timedelta(microseconds=int(fraction.ljust(6, "0")))
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment


def _read_invocations(engine: Engine, records: Records, since_ms: int | None, every: bool) -> None:
    """The REPORT line of every invocation that logged one of the lines: how long it ran."""
    for hop, group in LOG_GROUPS.items():
        wanted = list(dict.fromkeys(line.get("function_request_id") for line in records.lines
                                    if line.hop == hop and line.get("function_request_id")))
        if not wanted:
            continue
        patterns = ['"REPORT RequestId"'] if every else [
            " ".join(f'?"REPORT RequestId: {rid}"' for rid in wanted[start:start + REPORTS_PER_CALL])
            for start in range(0, len(wanted), REPORTS_PER_CALL)]
        for pattern in patterns:
            for event in _events(engine, group, pattern, since_ms, []):
                match = REPORT_LINE.search(event.get("message", ""))
                if match:
                    records.invocations[match.group(1)] = Invocation(match.group(1), float(match.group(2)))


def _peek(engine: Engine, queue: str, problems: list[str]) -> list[QueueMessage]:
    try:
        url = engine.client("sqs").get_queue_url(QueueName=queue)["QueueUrl"]
    except ClientError:
        problems.append(f"there is no queue {queue}: lab 11's template makes it (`make deploy LAB=11`)")
        return []
    try:
        return engine.peek(url)
    except PeekFailed as error:
        problems.append(str(error))
        return []


def message_body(message: QueueMessage) -> dict:
    try:
        body = json.loads(message.body)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def message_correlation_id(message: QueueMessage) -> str:
    attribute = (message.message_attributes.get("correlation_id") or {}).get("StringValue")
    return attribute or str(message_body(message).get("correlation_id") or "")


def _items(engine: Engine, feedback_ids: set[str], problems: list[str]) -> dict[str, dict]:
    """The items of these feedback ids (BatchGetItem, 100 keys a call)."""
    found, keys = {}, [{"feedback_id": {"S": feedback_id}} for feedback_id in sorted(feedback_ids)]
    while keys:
        request, keys = {TABLE: {"Keys": keys[:BATCH_GET_KEYS], "ConsistentRead": True}}, keys[BATCH_GET_KEYS:]
        try:
            while request:
                answer = engine.client("dynamodb").batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(TABLE, []):
                    plain = plain_item(item)
                    found[str(plain.get("feedback_id"))] = plain
                request = answer.get("UnprocessedKeys") or {}
        except ClientError as error:
            problems.append(_table_problem(error))
            return found
    return found


def _all_items(engine: Engine, problems: list[str]) -> dict[str, dict]:
    found = {}
    try:
        for page in engine.client("dynamodb").get_paginator("scan").paginate(TableName=TABLE, ConsistentRead=True):
            for item in page.get("Items", []):
                plain = plain_item(item)
                found[str(plain.get("feedback_id"))] = plain
    except ClientError as error:
        problems.append(_table_problem(error))
    return found


def _table_problem(error: ClientError) -> str:
    if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
        return f"there is no table {TABLE}: lab 11's template makes it (`make deploy LAB=11`)"
    return f"the table {TABLE} could not be read: {error}"


def plain_item(item: dict) -> dict:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in item.items()}

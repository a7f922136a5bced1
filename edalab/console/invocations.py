"""A function's recent invocations, cut out of its log group: one per request id.

Why this exists: the Functions page shows each invocation as a learner thinks of it (when it
started, how long it ran, how much memory it used, whether it failed) and opens that
invocation's own log lines. Lambda writes them as lines in the log group, per execution
environment (log stream):

    START RequestId: <id> Version: $LATEST
    ... the function's own lines (print, logging, Powertools JSON, [ERROR] ...)
    END RequestId: <id>
    REPORT RequestId: <id>\tDuration: 6.70 ms\tBilled Duration: 7 ms\tMemory Size: 128 MB\t
           Max Memory Used: 62 MB\tInit Duration: 869.53 ms\t(Status: timeout)

One environment runs one invocation at a time, so within a stream the lines between a START
and its REPORT are that invocation's. Lines a cold start wrote before START (module-level
prints, an import error) go with the invocation that follows them. Reading the pages of the
log group is `edalab.function_logs`'s job; recognising an error (`[ERROR]`, a Powertools
`"level": "ERROR"` line, `Task timed out`) is `edalab.function_errors`'s.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from edalab.function_errors import log_records, parse_error
from edalab.function_logs import log_events

_MARK = re.compile(r"^(START|END|REPORT) RequestId: (?P<id>[\w-]+)")
# REPORT fields, each `Name: value unit`, separated by tabs
_REPORT_FIELDS = {"Duration": "duration_ms", "Billed Duration": "billed_ms", "Memory Size": "memory_mb",
                  "Max Memory Used": "max_memory_mb", "Init Duration": "init_ms"}


@dataclass
class Invocation:
    request_id: str
    stream: str
    started_ms: int | None = None
    lines: list[str] = field(default_factory=list)  # START .. REPORT, errors spanning events joined
    duration_ms: float | None = None
    billed_ms: float | None = None
    memory_mb: float | None = None
    max_memory_mb: float | None = None
    init_ms: float | None = None  # only on a cold start
    status: str | None = None  # REPORT's `Status:` when the platform wrote one (e.g. timeout)
    error: tuple[str, str] | None = None  # (type, message) of the first error it logged
    finished: bool = False  # its REPORT line was seen

    @property
    def failed(self) -> bool:
        return self.error is not None or (self.status is not None and self.status.lower() != "success")

    @property
    def cold_start(self) -> bool:
        return self.init_ms is not None

    def shown_lines(self) -> list[dict]:
        """Each line as {text, json}: `json` is the pretty-printed document for a JSON line."""
        shown = []
        for line in self.lines:
            text = line.replace("\r", "\n").replace("\xa0", " ").rstrip("\n")
            shown.append({"text": text, "json": _pretty(text), "error": parse_error(text) is not None})
        return shown


def _pretty(text: str) -> str | None:
    body = text.strip()
    if not body.startswith(("{", "[")):
        return None
    try:
        return json.dumps(json.loads(body), indent=2)
    except ValueError:
        return None


def _read_report(invocation: Invocation, line: str) -> None:
    for part in line.split("\t")[1:]:
        name, _, value = part.partition(": ")
        name, value = name.strip(), value.strip()
        if name in _REPORT_FIELDS:
            try:
                setattr(invocation, _REPORT_FIELDS[name], float(value.split()[0]))
            except (ValueError, IndexError):
                pass
        elif name == "Status" and value:
            invocation.status = value
    invocation.finished = True


def parse_invocations(events: list[dict]) -> list[Invocation]:
    """Invocations from a log group's events (any order of streams), newest first."""
    by_stream: dict[str, list[dict]] = {}
    for event in events:
        by_stream.setdefault(event.get("logStreamName", ""), []).append(event)
    found: list[tuple[int, int, Invocation]] = []
    order = 0
    for stream, stream_events in by_stream.items():
        current: Invocation | None = None
        early: list[str] = []  # lines before any START: a cold start's init
        for record, timestamp in _records(stream_events):
            mark = _MARK.match(record)
            if mark and mark[1] == "START":
                current = Invocation(mark["id"], stream, started_ms=timestamp, lines=early + [record])
                early = []
                order += 1
                found.append((timestamp or 0, order, current))
                continue
            if current is None or (mark and mark["id"] != current.request_id):
                # END/REPORT of an invocation whose START is older than what was read: dropped
                early = [] if mark else early + [record]
                continue
            current.lines.append(record)
            if mark and mark[1] == "REPORT":
                _read_report(current, record)
                current = None
            elif current.error is None and (error := parse_error(record)) is not None:
                current.error = (error[0], error[1])
    found.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [invocation for _, _, invocation in found]


def _records(events: list[dict]) -> list[tuple[str, int | None]]:
    """(record, timestamp) pairs: events joined as `function_errors.log_records` joins them
    (an error with newlines arrives as several events), each with its first event's time."""
    records: list[tuple[str, int | None]] = []
    for event in events:
        message = event["message"]
        joined = log_records([records[-1][0], message]) if records else [message]
        if records and len(joined) == 1:
            records[-1] = (joined[0], records[-1][1])
        else:
            records.append((message, event.get("timestamp")))
    return records


class LogTail:
    """A function's log events of a sliding window, read again only from where the last read
    ended (less a margin, for lines that arrive late), so a page polling every 2 s does not
    make the engine page through the whole window each time. Not thread-safe: the page's
    cache lets one caller at a time compute a key."""

    OVERLAP_MS = 10_000

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self._events: dict[tuple, dict] = {}
        self._read_to: int | None = None  # newest timestamp seen

    def read(self, logs, since_ms: int) -> list[dict]:
        start = since_ms if self._read_to is None else max(since_ms, self._read_to - self.OVERLAP_MS)
        for event in log_events(logs, self.function_name, start):
            key = (event.get("logStreamName"), event.get("eventId"), event.get("timestamp"), event["message"])
            self._events.setdefault(key, event)
            self._read_to = max(self._read_to or 0, event.get("timestamp") or 0)
        self._events = {k: e for k, e in self._events.items() if (e.get("timestamp") or 0) >= since_ms}
        return sorted(self._events.values(), key=lambda e: (e.get("timestamp") or 0, _event_order(e)))


def _event_order(event: dict) -> int:
    event_id = str(event.get("eventId", ""))
    return int(event_id) if event_id.isdigit() else 0


def recent_invocations(logs, tail: LogTail, since_ms: int, limit: int = 50) -> list[Invocation]:
    """The function's newest `limit` invocations that started at or after `since_ms`; none
    when it has no log group yet (it never ran)."""
    try:
        events = tail.read(logs, since_ms)
    except logs.exceptions.ResourceNotFoundException:
        return []
    return parse_invocations(events)[:limit]

"""One stored log event as Logs Insights sees it: its fields, discovered as AWS discovers them.

Why this exists: Insights gives every event `@timestamp`, `@message`, `@logStream`, `@log`
(`account-id:log-group-name`), `@ingestionTime` and `@ptr`, flattens a JSON message into fields
named by their path (`order.id`, `items.0.sku`), and gives Lambda's START/END/REPORT lines
`@type`, `@requestId`, `@duration`, `@billedDuration`, `@memorySize`, `@maxMemoryUsed` (bytes).
The JSON is parsed lazily, at the first look at a non-built-in field, so a query that only
reads `@timestamp` over 100,000 events pays nothing for it.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime

BUILT_INS = ("@timestamp", "@message", "@logStream", "@log", "@ingestionTime")
_REPORT_FIELD = re.compile(r"(Duration|Billed Duration|Memory Size|Max Memory Used|Init Duration): ([\d.]+)")
_REPORT_NAMES = {"Duration": "@duration", "Billed Duration": "@billedDuration", "Memory Size": "@memorySize",
                 "Max Memory Used": "@maxMemoryUsed", "Init Duration": "@initDuration"}
_MISSING = object()


class Millis(int):
    """A time in epoch milliseconds; printed as AWS prints `@timestamp`: `2026-11-24 01:23:45.678`."""

    def __str__(self) -> str:
        moment = datetime.fromtimestamp(int(self) / 1000, UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{int(self) % 1000:03d}"


_scan_json = json.JSONDecoder().scan_once  # the C scanner json.loads uses, without its two whitespace regexes


def parse_json_object(message: str) -> dict | None:
    """The message as a JSON object, or None when it is not exactly one."""
    start = len(message) - len(message.lstrip()) if message[:1] != "{" else 0
    try:
        parsed, end = _scan_json(message, start)
    except (StopIteration, ValueError):
        return None
    if end != len(message) and message[end:].strip():
        return None
    return parsed if isinstance(parsed, dict) else None


def lambda_fields(message: str) -> dict | None:
    """The fields AWS discovers in Lambda's own START/END/REPORT lines, or None for other lines."""
    kind = message[:6].rstrip()
    if kind not in ("START", "END", "REPORT") or "RequestId: " not in message[:20]:
        return None
    request_id = message.split("RequestId: ", 1)[1].split()[0] if "RequestId: " in message else ""
    fields: dict = {"@type": kind, "@requestId": request_id}
    for label, number in _REPORT_FIELD.findall(message):
        value = float(number)
        if label in ("Memory Size", "Max Memory Used"):
            value = int(value) * 1024 * 1024  # AWS reports these two in bytes
        fields[_REPORT_NAMES[label]] = value
    return fields


def flatten(value, prefix: str, into: dict) -> None:
    """JSON -> {"a.b": leaf, "list.0": leaf} as Insights names JSON fields."""
    if isinstance(value, dict):
        for key, inner in value.items():
            flatten(inner, f"{prefix}.{key}" if prefix else str(key), into)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            flatten(inner, f"{prefix}.{index}" if prefix else str(index), into)
    elif prefix:
        into[prefix] = value


def read_pointer(pointer: str) -> tuple[str, str, int] | None:
    """(`@log`, stream name, event id) of an `@ptr` this module wrote, or None."""
    try:
        log, stream, event_id = base64.urlsafe_b64decode(pointer + "=" * (-len(pointer) % 4)).decode().split("\n")
        return log, stream, int(event_id)
    except (ValueError, UnicodeDecodeError):
        return None


class EventRecord:
    """A log event with its fields; `extra` holds what `fields ... as`, `parse` add."""

    __slots__ = ("event", "stream", "log", "extra", "_json")

    def __init__(self, event, stream: str, log: str):
        self.event, self.stream, self.log = event, stream, log
        self.extra: dict | None = None
        self._json = _MISSING

    def _discovered(self) -> dict | None:
        if self._json is _MISSING:
            message = self.event.message
            parsed = None
            if message[:1] == "{" or message.lstrip()[:1] == "{":
                parsed = parse_json_object(message)
            elif message[:1] in "SER":
                parsed = lambda_fields(message)
            self._json = parsed
        return self._json

    def timestamp_ms(self) -> int:
        return self.event.timestamp

    def get(self, name: str):
        extra = self.extra
        if extra is not None and name in extra:
            return extra[name]
        if name[0] == "@":
            if name == "@timestamp":
                return Millis(self.event.timestamp)
            if name == "@message":
                return self.event.message
            if name == "@logStream":
                return self.stream
            if name == "@log":
                return self.log
            if name == "@ingestionTime":
                return Millis(self.event.ingestion_time)
            if name == "@ptr":
                return self.pointer()
        discovered = self._json
        if discovered is _MISSING:
            discovered = self._discovered()
        if discovered is None:
            return None
        value = discovered.get(name, _MISSING)
        if value is _MISSING:
            value = discovered
            for part in name.split("."):
                if isinstance(value, dict):
                    value = value.get(part)
                elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                    value = value[int(part)]
                else:
                    return None
        return None if isinstance(value, (dict, list)) else value

    def set(self, name: str, value) -> None:
        if self.extra is None:
            self.extra = {}
        self.extra[name] = value

    def pointer(self) -> str:
        """An opaque, unique name of the event (AWS's `@ptr` is opaque too)."""
        raw = f"{self.log}\n{self.stream}\n{self.event.event_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def all_fields(self) -> dict:
        """Every field in the order AWS lists them when the query names none."""
        fields = {name: self.get(name) for name in BUILT_INS}
        discovered = self._discovered()
        if discovered:
            flatten(discovered, "", fields)
        if self.extra:
            fields.update(self.extra)
        return fields

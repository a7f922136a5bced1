"""The usage counters: what the engine served since it started or was last reset.

Why this exists: every request of the engine adds to these, so they must cost a lock and a
few dict increments, nothing more; the document (contract 1 of the #15 brief) is built only
when someone asks for it. One store per engine process (`STORE`).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime

from edalab.plugins.usage import billing

SNS_PROTOCOLS = ("sqs", "lambda", "email", "sms", "http")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class UsageCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._zero()

    def _zero(self) -> None:
        self.since = _now()
        # (service, operation, caller) -> [count, billable, empty]
        self.requests: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        # (function, memory_mb) -> [invocations, errors, duration_ms, billed_ms, gb_seconds]
        self.functions: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0, 0, 0.0, 0, 0.0])
        self.sns_publishes = self.sns_billable = 0
        self.sns_deliveries: dict[str, int] = dict.fromkeys(SNS_PROTOCOLS, 0)
        self.event_entries = self.event_billable = self.event_deliveries = 0
        self.s3_tiers = [0, 0, 0]  # free, tier 1, tier 2
        self.dynamodb: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])  # table -> [read, write]
        self.logs: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # group -> [bytes, events]
        self.apigateway_requests = 0

    def reset(self) -> str:
        with self._lock:
            self._zero()
            return self.since

    # -- what the hooks add ----------------------------------------------------------------
    def request(self, service: str, operation: str, caller: str, billable: int = 1, empty: bool = False) -> None:
        with self._lock:
            row = self.requests[(service, operation, caller)]
            row[0] += 1
            row[1] += billable
            if empty:
                row[2] += 1

    def invocation(self, function: str, memory_mb: int, is_error: bool, duration_ms: float | None) -> None:
        billed = billing.billed_ms(duration_ms)
        with self._lock:
            row = self.functions[(function, memory_mb)]
            row[0] += 1
            row[1] += 1 if is_error else 0
            row[2] += duration_ms or 0.0
            row[3] += billed
            row[4] += billing.gb_seconds(memory_mb, billed)

    def sns_publish(self, messages: int, billable: int) -> None:
        with self._lock:
            self.sns_publishes += messages
            self.sns_billable += billable

    def sns_delivery(self, protocol: str, messages: int = 1) -> None:
        with self._lock:
            self.sns_deliveries[protocol] = self.sns_deliveries.get(protocol, 0) + messages

    def events_put(self, entries: int, billable: int) -> None:
        with self._lock:
            self.event_entries += entries
            self.event_billable += billable

    def event_delivery(self) -> None:
        with self._lock:
            self.event_deliveries += 1

    def s3_request(self, tier: int) -> None:
        with self._lock:
            self.s3_tiers[tier] += 1

    def dynamodb_units(self, table: str, read: float = 0.0, write: float = 0.0) -> None:
        with self._lock:
            row = self.dynamodb[table]
            row[0] += read
            row[1] += write

    def log_ingestion(self, group: str, size_bytes: int, events: int) -> None:
        with self._lock:
            row = self.logs[group]
            row[0] += size_bytes
            row[1] += events

    def apigateway_request(self) -> None:
        with self._lock:
            self.apigateway_requests += 1

    # -- the document ----------------------------------------------------------------------
    def document(self) -> dict:
        with self._lock:
            requests = [
                {"service": service, "operation": operation, "caller": caller,
                 "count": count, "billable": billable, "empty": empty}
                for (service, operation, caller), (count, billable, empty) in sorted(self.requests.items())
            ]
            functions = [
                {"function": name, "memory_mb": memory, "invocations": int(row[0]), "errors": int(row[1]),
                 "duration_ms": round(row[2], 2), "billed_ms": int(row[3]), "gb_seconds": round(row[4], 9)}
                for (name, memory), row in sorted(self.functions.items())
            ]
            by_table = {table: {"read_units": read, "write_units": write}
                        for table, (read, write) in sorted(self.dynamodb.items())}
            by_group = {group: {"ingested_bytes": size, "events": events}
                        for group, (size, events) in sorted(self.logs.items())}
            return {
                "since": self.since,
                "now": _now(),
                "requests": requests,
                "lambda": functions,
                "sns": {"publishes": self.sns_publishes, "billable": self.sns_billable,
                        "deliveries": dict(self.sns_deliveries)},
                "events": {"entries": self.event_entries, "billable": self.event_billable,
                           "deliveries": self.event_deliveries},
                "s3": {"tier1": self.s3_tiers[1], "tier2": self.s3_tiers[2]},
                "dynamodb": {"read_units": sum(row["read_units"] for row in by_table.values()),
                             "write_units": sum(row["write_units"] for row in by_table.values()),
                             "by_table": by_table},
                "logs": {"ingested_bytes": sum(row["ingested_bytes"] for row in by_group.values()),
                         "events": sum(row["events"] for row in by_group.values()),
                         "by_group": by_group},
                "apigateway": {"requests": self.apigateway_requests},
            }


STORE = UsageCounters()

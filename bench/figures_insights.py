"""Benchmark figure of Logs Insights (issue #13, item 2; goal: a query over 100,000 log events in
at most 1 s): StartQuery of `filter level = "ERROR" | stats count(*) by reason, bin(5m)` over
100,000 JSON log events (4 streams, the last 50 minutes), until GetQueryResults says Complete.

Baselines measured in the same run, so the number can be read:
- "plain Python loop": the same aggregation done in this process over the same 100,000 messages
  (json.loads, test, count); the floor of any Python implementation, with no engine at all;
- "FilterLogEvents + loop": the same question asked without Insights, as a learner could:
  FilterLogEvents with the pattern `{ $.level = "ERROR" }`, every page, then the loop.
The query's answer is checked against the plain loop's before anything is timed.

Call: `figures_insights.insights_query(endpoint, events=100_000, runs=5)` on an engine of the
bench's own.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter

from figures import Figure

from edalab import aws
from edalab.waiting import wait_for

QUERY = 'filter level = "ERROR" | stats count(*) as errors by reason, bin(5m)'
BATCH = 5000  # events per PutLogEvents call (well under its 1 MB)
REASONS = ("card_declined", "out_of_stock", "timeout", "fraud_suspected")
FIVE_MINUTES_MS = 300_000


def _events(count: int, start_ms: int, span_ms: int) -> list[tuple[int, str]]:
    chance = random.Random(13)
    events = []
    for n in range(count):
        failed = chance.random() < 0.2
        body = {"level": "ERROR" if failed else "INFO", "order_id": f"o-{n}", "duration_ms": chance.randint(1, 999),
                "message": "payment failed" if failed else "order placed"}
        if failed:
            body["reason"] = chance.choice(REASONS)
        events.append((start_ms + n * span_ms // count, json.dumps(body)))
    return events


def _plain_loop(events) -> Counter:
    """(reason, bin start) -> errors, the way one would count without Insights."""
    counts: Counter = Counter()
    for stamp, message in events:
        body = json.loads(message)
        if body.get("level") == "ERROR":
            counts[(body.get("reason"), stamp - stamp % FIVE_MINUTES_MS)] += 1
    return counts


def _put(logs, group: str, events, streams: int = 4) -> None:
    for stream in range(streams):
        name = f"2026/11/24/[$LATEST]{stream:032x}"
        logs.create_log_stream(logGroupName=group, logStreamName=name)
        mine = events[stream::streams]
        for first in range(0, len(mine), BATCH):
            logs.put_log_events(logGroupName=group, logStreamName=name, logEvents=[
                {"timestamp": stamp, "message": message} for stamp, message in mine[first:first + BATCH]])


def _insights(logs, group: str, start_ms: int, end_ms: int) -> dict:
    query_id = logs.start_query(logGroupName=group, startTime=start_ms // 1000, endTime=end_ms // 1000 + 1,
                                queryString=QUERY)["queryId"]
    answer = wait_for(lambda: logs.get_query_results(queryId=query_id), what="the Insights query to complete",
                      timeout=120, interval=0.01, until=lambda reply: reply["status"] not in ("Scheduled", "Running"))
    if answer["status"] != "Complete":
        raise RuntimeError(f"the Insights query ended {answer['status']}")
    return answer


def _filtered_loop(logs, group: str, start_ms: int, end_ms: int) -> Counter:
    fetched, token = [], None
    while True:
        page = logs.filter_log_events(logGroupName=group, startTime=start_ms, endTime=end_ms,
                                      filterPattern='{ $.level = "ERROR" }', **({"nextToken": token} if token else {}))
        fetched += [(event["timestamp"], event["message"]) for event in page["events"]]
        token = page.get("nextToken")
        if not token:
            return _plain_loop(fetched)


def insights_query(endpoint: str, events: int = 100_000, runs: int = 5) -> Figure:
    logs = aws.client("logs", endpoint)
    group = f"/edalab/bench/insights-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    end_ms = int(time.time() * 1000) - 60_000
    start_ms = end_ms - 50 * 60_000
    stored = _events(events, start_ms, end_ms - start_ms)
    try:
        _put(logs, group, stored)
        expected = _plain_loop(stored)
        answer = _insights(logs, group, start_ms, end_ms)
        if answer["statistics"]["recordsScanned"] != events:
            raise RuntimeError(f"the query scanned {answer['statistics']['recordsScanned']} of {events} events")
        if sum(int({p["field"]: p["value"] for p in row}["errors"]) for row in answer["results"]) != sum(
                expected.values()) or len(answer["results"]) != len(expected):
            raise RuntimeError("the Insights query's counts differ from the plain loop's")

        def timed(fn) -> float:
            started = time.perf_counter()
            fn()
            return (time.perf_counter() - started) * 1000

        samples = [timed(lambda: _insights(logs, group, start_ms, end_ms)) for _ in range(runs)]
        plain = [timed(lambda: _plain_loop(stored)) for _ in range(runs)]
        filtered = [timed(lambda: _filtered_loop(logs, group, start_ms, end_ms)) for _ in range(max(1, runs // 2))]
    finally:
        logs.delete_log_group(logGroupName=group)
    return Figure(f"Logs Insights filter + stats by bin(5m), {events:,} events (aim: 1 s)", "ms", samples,
                  {"plain Python loop": plain, "FilterLogEvents + loop": filtered})

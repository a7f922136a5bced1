"""Every message a Lambda function logged, read through all pages of its log group.

Why this exists: the checks read functions' logs in several ways (their JSON lines, the
errors they logged since a step began), and each needs every page of `filter_log_events`.
Callers filter in Python, which answers the same on any engine (LocalStack's stock provider
ignores `filterPattern`; ours honours it); the paging lives here once.
"""

from __future__ import annotations


def log_messages(logs, function_name: str, since_ms: int | None = None) -> list[str]:
    """The function's log messages (at or after `since_ms` when given), oldest first."""
    return [event["message"] for event in log_events(logs, function_name, since_ms)]


def log_events(logs, function_name: str, since_ms: int | None = None) -> list[dict]:
    """The function's log events as the API gives them (message, timestamp, logStreamName,
    eventId), at or after `since_ms` when given, oldest first."""
    events, kwargs = [], {} if since_ms is None else {"startTime": since_ms}
    while True:
        page = logs.filter_log_events(logGroupName=f"/aws/lambda/{function_name}", **kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]

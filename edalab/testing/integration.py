"""Integration-test helpers: wait for an outcome of the running flow, or fail saying what is missing.

Why this exists: an event-driven flow answers later, not in the call that started it. A test
that sleeps a fixed time is slow when the flow is fast and flaky when it is slow; these poll
until the outcome is there or a deadline passes, and then fail with an AssertionError that says
what was awaited, for how long, and what was seen instead, so a CI log shows where the flow
stopped. They run against the engine `make up` started (or EDALAB_ENDPOINT), through the same
clients as the rest of the project (`edalab.aws`, `edalab.settings`, `edalab.waiting`,
`edalab.queue_peek`).

    import json, time
    from edalab.testing import integration as it

    start = time.time()
    out = it.stack_outputs("edalab-10-testing")
    order = {"order_id": "O-1", "customer": "Ada", "items": [{"sku": "bulb", "qty": 2, "unit_price": 1.25}]}
    it.client("s3").put_object(Bucket=out["UploadsBucket"], Key="incoming/o-1.json", Body=json.dumps(order))
    it.client("s3").put_object(Bucket=out["UploadsBucket"], Key="incoming/bad.json", Body=b"not json")
    item = it.wait_for_item(out["StatusTable"], {"key": "incoming/o-1.json"},
                            until=lambda i: i["status"] == "PROCESSED")
    body = it.wait_for_object(out["UploadsBucket"], "processed/o-1.json")
    dead = it.wait_for_dead_letter(out["DeadLetterQueueUrl"], "incoming/bad.json", receives=3,
                                   source=out["UploadsQueueUrl"])
    it.wait_for_log_line("/aws/lambda/edalab-tested-processor", '"processed": "incoming/o-1.json"', since=start)
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from edalab import aws, bootstrap, queue_peek, settings
from edalab.queue_peek import QueueMessage
from edalab.waiting import WaitTimedOut, wait_for

T = TypeVar("T")
_TO_DYNAMO, _FROM_DYNAMO = TypeSerializer(), TypeDeserializer()


# --- the running engine ---------------------------------------------------------------------

def endpoint() -> str:
    """The engine's URL: EDALAB_ENDPOINT, else the one `make up` started (see edalab.settings)."""
    return settings.endpoint()


def client(service: str):
    """A boto3 client for the local engine (dummy credentials; refuses a non-local endpoint)."""
    return aws.client(service, endpoint())


def stack_outputs(stack: str) -> dict[str, str]:
    """A deployed lab's outputs (bucket, queue URLs, table names); fails saying how to deploy it."""
    try:
        return bootstrap.stack_outputs(stack, endpoint())
    except ClientError:
        lab = stack.removeprefix("edalab-").split("-", 1)[0]
        raise AssertionError(f"stack {stack} is not deployed on {endpoint()}: run `make up` "
                             f"(or `make deploy LAB={lab}`)") from None


def queue_messages(queue_url: str) -> list[QueueMessage]:
    """Every message on the queue, visible or in flight, read without receiving it (so the
    test hides nothing from the function); each has .body, .message_id and .receives."""
    return queue_peek.queue_messages(endpoint(), queue_url)


# --- waiting --------------------------------------------------------------------------------

def eventually(probe: Callable[[], T], what: str, timeout: float = 30.0, *, interval: float = 0.2,
               until: Callable[[T], bool] = bool) -> T:
    """Calls `probe` until `until(result)` holds (default: the result is truthy) and returns
    that result; after `timeout` seconds raises AssertionError naming `what` and the last result.

    >>> eventually(lambda: 42, "the answer", timeout=1)
    42
    """
    return wait_for(probe, what=what, timeout=timeout, interval=interval, until=until)


def wait_for_item(table: str, key: dict, *, timeout: float = 30.0,
                  until: Callable[[dict], bool] = lambda item: True) -> dict:
    """The item with `key` (plain Python values, e.g. {"key": "incoming/o-1.json"}) once it
    exists in `table` and `until(item)` holds; returned as plain Python (numbers as Decimal)."""
    ddb = client("dynamodb")
    typed_key = {name: _TO_DYNAMO.serialize(value) for name, value in key.items()}
    last: dict = {}

    def probe():
        raw = ddb.get_item(TableName=table, Key=typed_key, ConsistentRead=True).get("Item")
        last["item"] = None if raw is None else {k: _FROM_DYNAMO.deserialize(v) for k, v in raw.items()}
        return last["item"]
    try:
        return wait_for(probe, what="", timeout=timeout, until=lambda item: item is not None and until(item))
    except WaitTimedOut:
        seen = "no such item" if last.get("item") is None else f"the item is {last['item']}"
        raise WaitTimedOut(f"waited {timeout:.0f} s for the item {key} in table {table} to be there"
                           f"{'' if last.get('item') is None else ' and match'}: {seen}", last.get("item")) from None


def wait_for_object(bucket: str, key: str, *, timeout: float = 30.0) -> bytes:
    """The body of s3://bucket/key once it exists."""
    s3 = client("s3")

    def probe():
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
    try:
        return wait_for(probe, what="", timeout=timeout, until=lambda body: body is not None)
    except WaitTimedOut:
        near = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=key.rsplit("/", 1)[0] + "/",
                                                     MaxKeys=5).get("Contents", [])]
        raise WaitTimedOut(f"waited {timeout:.0f} s for s3://{bucket}/{key}: it is not there"
                           + (f" (beside it: {', '.join(near)})" if near else "")) from None


def _matches(predicate: str | Callable[[str], bool]) -> Callable[[str], bool]:
    return predicate if callable(predicate) else (lambda body: predicate in body)


def wait_for_dead_letter(queue_url: str, predicate: str | Callable[[str], bool], *, receives: int | None = None,
                         timeout: float = 60.0, source: str | None = None) -> QueueMessage:
    """The message on the dead-letter queue `queue_url` whose body contains `predicate` (a
    string) or satisfies it (a function of the body), read without receiving it. With
    `receives=N`, asserts that it was received exactly N times (its ApproximateReceiveCount)
    before it got there: a consumer that parks a message at once, or retries it more than the
    redrive policy says, fails here. With `source` (the queue the message started on), fails
    early when the message has left both queues: the consumer deleted it instead of failing it.
    """
    matches, name = _matches(predicate), queue_url.rsplit("/", 1)[-1]
    gone_since: list[float] = []

    def probe():
        found = [m for m in queue_messages(queue_url) if matches(m.body)]
        if found or source is None:
            return found
        if any(matches(m.body) for m in queue_messages(source)):
            gone_since.clear()
        elif not gone_since:
            gone_since.append(time.monotonic())
        elif time.monotonic() - gone_since[0] > 2:  # gone from both for 2 s: not just moving
            raise AssertionError(f"the message is on neither {source.rsplit('/', 1)[-1]} nor {name}: the consumer "
                                 "deleted it instead of letting it fail, so it never reached the dead-letter queue")
        return found
    try:
        found = wait_for(probe, what="", timeout=timeout, interval=0.25)
    except WaitTimedOut:
        raise WaitTimedOut(f"waited {timeout:.0f} s for the message on the dead-letter queue {name}: "
                           "it never arrived") from None
    message = found[0]
    if receives is not None and message.receives != receives:
        raise AssertionError(f"the message reached {name} after {message.receives} receive(s), not {receives}: "
                             + ("it was put there without being retried" if message.receives < receives
                                else "it was retried more often than the redrive policy says"))
    return message


def _since_ms(since: datetime | float | int | None) -> int | None:
    if since is None:
        return None
    if isinstance(since, datetime):
        return int(since.timestamp() * 1000)
    return int(since * 1000) if since < 1e11 else int(since)  # seconds (time.time()) or milliseconds


def log_lines(group: str, text_or_pattern: str | re.Pattern, *, since: datetime | float | None = None) -> list[str]:
    """Every message of log group `group` (at or after `since`: a datetime, or time.time())
    that contains the text, or matches the compiled regular expression; oldest first."""
    logs, kwargs = client("logs"), {}
    if (start := _since_ms(since)) is not None:
        kwargs["startTime"] = start
    found, matches = [], (text_or_pattern.search if isinstance(text_or_pattern, re.Pattern)
                          else lambda message: text_or_pattern in message)
    try:
        while True:
            page = logs.filter_log_events(logGroupName=group, **kwargs)
            found += [e["message"] for e in page["events"] if matches(e["message"])]
            if not page.get("nextToken"):
                return found
            kwargs["nextToken"] = page["nextToken"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return []  # nothing logged yet: the group appears with the first line
        raise


def wait_for_log_line(group: str, text_or_pattern: str | re.Pattern, *, since: datetime | float | None = None,
                      timeout: float = 30.0) -> str:
    """The first line of `group` (at or after `since`) containing the text or matching the
    pattern, once one is there: e.g. the line with a correlation id."""
    shown = text_or_pattern.pattern if isinstance(text_or_pattern, re.Pattern) else text_or_pattern
    try:
        return wait_for(lambda: log_lines(group, text_or_pattern, since=since), what="", timeout=timeout,
                        interval=0.3)[0]
    except WaitTimedOut:
        raise WaitTimedOut(f"waited {timeout:.0f} s for a line with {shown!r} in log group {group}: "
                           f"none{' since ' + str(since) if since is not None else ''}") from None

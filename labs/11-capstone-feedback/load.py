"""The capstone under load: 2,000 feedback submissions through the API, every one accounted for.

Why this exists: a pipeline that stores one submission correctly may still lose, double or
mislabel some when many arrive at once. This posts a known mix through `POST /feedback` from a
few threads (as many browsers would): 10 % invalid (each refused with a 400 and never queued),
5 % duplicated (the same feedback delivered twice to the store), 1 % unstorable (valid for the
API, refused on purpose by the store, so each ends in the dead-letter queue after 3 receives),
the rest plain. It then waits, with a deadline, until every accepted submission is either stored
or dead-lettered, and counts from what the engine recorded (the table, the dead-letter queue, the
functions' log lines), never from its own bookkeeping alone:

    stored + refused + dead-lettered = sent; nothing stored twice.

Latency and throughput come from the engine's records too: POST to stored = the item's
`stored_at` minus the intake's `received_at`; throughput = items stored per second from the
first `received_at` to the last `stored_at`.

It lives in the lab's folder, beside the README that explains the pipeline, because it only
makes sense against lab 11's API, and a learner can run it on their own build; the load test
(`tests/test_lab11_load.py`) and `make bench` (`bench/figures_capstone.py`) call the same
functions. Everything a run makes is marked with its run id (the correlation ids
`load-<run>-<n>`, the names `Load <run> #<n>`) and `clean_up` removes exactly that.

A duplicate is made the way SQS makes one: the same message delivered again after the store
processed it (as when a delete is lost or a visibility timeout runs out). Once a duplicated
submission is stored, this reads it back through `GET /feedback/{id}` and sends the same message
(the feedback with its `feedback_id`, `correlation_id` and `received_at`, and the
`correlation_id` attribute) to the queue again; the store must answer `duplicate` and write
nothing. Re-POSTing the same body would not be a duplicate: the intake gives every POST a new
feedback id, as the contract says, so that is a second, distinct submission.
"""

from __future__ import annotations

import json
import re
import statistics
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from edalab import aws, bootstrap
from edalab.checks import json_log_lines
from edalab.http_call import http
from edalab.queue_cleanup import remove_messages
from edalab.queue_peek import queue_messages
from edalab.waiting import wait_for

STACK = "edalab-11-capstone-feedback"
QUEUE, DLQ, SUPPORT_QUEUE = "edalab-feedback", "edalab-feedback-dlq", "edalab-feedback-support"
INTAKE, STORE = "feedback-intake", "feedback-store"

SENT = 2_000
MAX_COUNT = 10_000  # `make load COUNT=…`: more would only take longer
THREADS = 8  # browsers at once; on 2 cores 8 posted ~29 a second, 4 only ~23 (the engine is the limit)
# the mix, kept exactly rather than drawn at random, so what the engine recorded can be compared
INVALID_EVERY, INVALID_AT = 10, 9  # 10 %: n % 10 == 9
UNSTORABLE_EVERY, UNSTORABLE_AT = 100, 4  # 1 %: n % 100 == 4
DUPLICATE_EVERY, DUPLICATE_AT = 20, 1  # 5 %: n % 20 == 1
MAX_RECEIVES = 3  # the queue's redrive policy (maxReceiveCount)
PLAIN = TypeDeserializer()  # a table item's typed values ({"S": "x"}) as plain ones


@dataclass
class Submission:
    n: int
    kind: str  # valid | duplicate | unstorable | invalid
    correlation_id: str
    payload: bytes
    headers: dict[str, str]
    rating: int | None
    reason: str = ""  # for an invalid one: what is wrong with it
    status: int | None = None  # the API's answer
    answer: object = None
    answered_ms: float | None = None  # POST to answer, as the client saw it
    feedback_id: str | None = None
    redelivered: bool = False


@dataclass
class LoadRun:
    run: str
    endpoint: str
    api_url: str
    queue_url: str
    dlq_url: str
    support_queue_url: str
    table: str
    submissions: list[Submission]
    posted_seconds: float = 0.0  # wall time of the POSTs
    threads: int = THREADS
    redelivery_errors: list[str] = field(default_factory=list)

    def of_kind(self, *kinds: str) -> list[Submission]:
        return [s for s in self.submissions if s.kind in kinds]

    @property
    def accepted(self) -> list[Submission]:
        return [s for s in self.submissions if s.status == 202]

    @property
    def refused(self) -> list[Submission]:
        return [s for s in self.submissions if s.status == 400]

    def is_ours(self, text: str) -> bool:
        return f"load-{self.run}-" in text


# -- what is sent ---------------------------------------------------------------------------------
def feedback(run: str, n: int) -> dict:
    rating = 1 + n % 5
    body = {"name": f"Load {run} #{n}", "email": f"load{n}@example.com", "rating": rating,
            "message": f"Submission {n} of load run {run}: " + "good service " * (n % 7)}
    if n % 3 == 0:
        body["order_id"] = f"ORD-{n:05d}"
    return body


def unstorable(body: dict) -> dict:
    """A submission the intake accepts and no store can write: an empty `order_id` (what a form
    sends when the box is left empty) is a valid optional field, but the table indexes `order_id`
    (`by-order`) and DynamoDB refuses an empty string as an index key. Each receive fails, and
    after 3 the queue moves it to the dead-letter queue (the lab's README tells this bug)."""
    return {**body, "order_id": ""}


def invalid(run: str, n: int) -> tuple[bytes, dict[str, str], str]:
    """The n-th invalid submission: (body bytes, extra headers, what is wrong). Every kind of
    bad input the lab names comes round in turn."""
    good = feedback(run, n)
    variants = [
        (json.dumps({k: v for k, v in good.items() if k != "name"}), {}, "no name"),
        (json.dumps({**good, "email": "not-an-email"}), {}, "an email without @"),
        (json.dumps({**good, "rating": 6}), {}, "a rating of 6"),
        (json.dumps({**good, "rating": "5"}), {}, "a rating given as text"),
        (json.dumps({**good, "message": "x" * 2_001}), {}, "a message of 2,001 characters"),
        (json.dumps({**good, "coupon": "FREE"}), {}, "an unknown field"),
        (json.dumps(good)[:-5], {}, "malformed JSON"),
        (json.dumps({**good, "message": "x" * 300_000}), {}, "a body of 300 KB"),
        ("", {}, "an empty body"),
        (b"\xff\xfe" + json.dumps(good).encode("utf-16-le"), {}, "bytes that are not UTF-8"),
        (json.dumps(good), {"X-Correlation-Id": f"load {run} {n} has spaces!"}, "a correlation id with spaces"),
    ]
    text, headers, reason = variants[(n // INVALID_EVERY) % len(variants)]
    return (text if isinstance(text, bytes) else text.encode()), headers, reason


def kind_of(n: int) -> str:
    if n % INVALID_EVERY == INVALID_AT:
        return "invalid"
    if n % UNSTORABLE_EVERY == UNSTORABLE_AT:
        return "unstorable"
    if n % DUPLICATE_EVERY == DUPLICATE_AT:
        return "duplicate"
    return "valid"


def plan(run: str, count: int = SENT) -> list[Submission]:
    submissions = []
    for n in range(count):
        kind, correlation_id = kind_of(n), f"load-{run}-{n:04d}"
        headers = {"X-Correlation-Id": correlation_id}
        reason, rating = "", None
        if kind == "invalid":
            payload, extra, reason = invalid(run, n)
            headers.update(extra)
        else:
            body = feedback(run, n)
            rating = body["rating"]
            payload = json.dumps(unstorable(body) if kind == "unstorable" else body).encode()
        submissions.append(Submission(n, kind, correlation_id, payload, headers, rating, reason))
    return submissions


# -- sending --------------------------------------------------------------------------------------
class NotReady(RuntimeError):
    """The pipeline is not there to load (the message says what to do)."""


def connect(endpoint: str, run: str | None = None, count: int = SENT) -> LoadRun:
    """A run against the deployed stack (its outputs; the queues by their fixed names)."""
    try:
        outputs = bootstrap.stack_outputs(STACK, endpoint)
    except ClientError:
        raise NotReady(f"lab 11 is not deployed (no stack {STACK}): `make deploy LAB=11`") from None
    sqs = aws.client("sqs", endpoint)

    def url(key: str, name: str) -> str:
        try:
            return outputs.get(key) or sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError:
            raise NotReady(f"the queue {name} does not exist yet: build it in labs/11-capstone-feedback/template.yaml "
                           "(the lab's exercise) and `make deploy LAB=11`, or load the reference with "
                           "`make solution LAB=11 APPLY=1`") from None

    run = run or uuid.uuid4().hex[:8]
    # the stack's ApiUrl output is AWS's address; the engine serves the same API under its own
    api = f"{endpoint.rstrip('/')}/_aws/execute-api/{outputs['ApiId']}/local"
    return LoadRun(run, endpoint, api, url("FeedbackQueueUrl", QUEUE),
                   url("FeedbackDlqUrl", DLQ), url("SupportQueueUrl", SUPPORT_QUEUE),
                   outputs.get("FeedbackTable", "edalab-feedback"), plan(run, count))


def post(load: LoadRun, submission: Submission) -> None:
    started = time.perf_counter()
    try:
        reply = http("POST", f"{load.api_url}/feedback", raw=submission.payload, headers=submission.headers,
                     timeout=60)
    except OSError as error:  # no answer at all: counted as a wrong answer, the run goes on
        submission.answer = f"no answer: {error}"
        return
    submission.answered_ms = (time.perf_counter() - started) * 1000
    submission.status, submission.answer = reply.status, reply.body
    if reply.status == 202 and isinstance(reply.body, dict):
        submission.feedback_id = reply.body.get("feedback_id")


def message_of(item: dict) -> dict:
    """The queue message the intake sent for a stored item: the feedback with its ids and
    `received_at`, without what the store added."""
    return {k: v for k, v in item.items() if k not in ("status", "stored_at")}


def redeliver(load: LoadRun, submission: Submission, sqs, timeout: float = 120) -> None:
    """Waits until the submission is stored, then delivers its message to the store again."""
    url = f"{load.api_url}/feedback/{submission.feedback_id}"
    item = wait_for(lambda: http("GET", url, timeout=30), what=f"{submission.correlation_id} to be stored",
                    timeout=timeout, interval=0.5, until=lambda reply: reply.status == 200).body
    sqs.send_message(QueueUrl=load.queue_url, MessageBody=json.dumps(message_of(item)),
                     MessageAttributes={"correlation_id": {"DataType": "String",
                                                           "StringValue": submission.correlation_id}})
    submission.redelivered = True


def send(load: LoadRun, threads: int = THREADS, say: Callable[[str], None] = lambda line: None) -> LoadRun:
    """POSTs every submission from `threads` threads; each duplicated one, once stored, is
    delivered to the store again (from a thread of its own, while the POSTs go on)."""
    sqs = aws.client("sqs", load.endpoint)
    duplicates: list[Submission] = []
    ready = threading.Condition()
    posting = {"done": False}

    def redeliverer() -> None:
        while True:
            with ready:
                ready.wait_for(lambda: duplicates or posting["done"])
                if not duplicates and posting["done"]:
                    return
                submission = duplicates.pop(0)
            try:
                redeliver(load, submission, sqs)
            except Exception as error:  # noqa: BLE001 - recorded, and the accounting fails on it
                load.redelivery_errors.append(f"{submission.correlation_id}: {error}")

    def post_one(submission: Submission) -> None:
        post(load, submission)
        if submission.kind == "duplicate" and submission.feedback_id:
            with ready:
                duplicates.append(submission)
                ready.notify()

    load.threads = threads
    worker = threading.Thread(target=redeliverer, name="load-redeliver", daemon=True)
    worker.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for done, _ in enumerate(pool.map(post_one, load.submissions), 1):
            if done % 500 == 0:
                say(f"  {done:,} of {len(load.submissions):,} posted")
    load.posted_seconds = time.perf_counter() - started
    with ready:
        posting["done"] = True
        ready.notify()
    worker.join(timeout=300)
    return load


# -- waiting and counting ------------------------------------------------------------------------
def stored_items(load: LoadRun) -> dict[str, dict]:
    """This run's items in the table, by feedback id (plain values)."""
    ddb = aws.client("dynamodb", load.endpoint)
    items = {}
    for page in ddb.get_paginator("scan").paginate(TableName=load.table):
        for raw in page["Items"]:
            item = {name: PLAIN.deserialize(value) for name, value in raw.items()}
            if load.is_ours(str(item.get("correlation_id", ""))) or f"Load {load.run} #" in str(item.get("name", "")):
                items[item["feedback_id"]] = item
    return items


def our_messages(load: LoadRun, queue_url: str) -> list[dict]:
    """This run's messages on a queue (visible or in flight), bodies parsed, read without receiving."""
    found = []
    for message in queue_messages(load.endpoint, queue_url):
        if load.is_ours(message.body) or load.is_ours(json.dumps(message.message_attributes)):
            try:
                body = json.loads(message.body)
            except ValueError:
                body = {"raw": message.body}
            found.append({"body": body, "receives": message.receives, "message_id": message.message_id,
                          "text": message.body})
    return found


@dataclass
class Settled:
    items: dict[str, dict]  # feedback id -> item
    dead: list[dict]  # this run's messages in the dead-letter queue
    waited_seconds: float

    @property
    def dead_ids(self) -> list[str]:
        return [message["body"].get("feedback_id") for message in self.dead]


def settle(load: LoadRun, timeout: float = 300, say: Callable[[str], None] = lambda line: None) -> Settled:
    """Waits until nothing of this run is left on the queue (visible or in flight: the
    duplicates' second deliveries and the unstorable ones' retries included), then until every
    accepted submission is stored or dead-lettered. The table is scanned only once the queue is
    clear: a scan of thousands of items every second would slow the engine it waits for."""
    started = time.monotonic()
    accepted = {s.feedback_id for s in load.accepted}
    last = {"said": 0.0}

    def probe():
        on_queue = len(our_messages(load, load.queue_url))
        items, dead = ({}, []) if on_queue else (stored_items(load), our_messages(load, load.dlq_url))
        missing = accepted - set(items) - {m["body"].get("feedback_id") for m in dead}
        if time.monotonic() - last["said"] > 10:
            say(f"  {on_queue:,} of this run still on the queue (an unstorable one waits out the visibility "
                "timeout between its 3 receives)" if on_queue else
                f"  {len(items):,} stored, {len(dead)} dead-lettered, {len(missing):,} still on their way")
            last["said"] = time.monotonic()
        return items, dead, missing, on_queue

    items, dead, _, _ = wait_for(
        probe, what="every accepted submission to leave the queue, stored or dead-lettered",
        timeout=timeout, interval=1.0, until=lambda seen: seen[3] == 0 and not seen[2])
    return Settled(items, dead, time.monotonic() - started)


@dataclass
class Accounting:
    sent: int
    refused: int
    stored: int
    dead_lettered: int
    latencies_ms: list[float]  # stored_at - received_at of each stored item
    throughput: float  # items stored per second, first received_at to last stored_at
    answered_ms: list[float]  # POST to 202, as the client saw it
    problems: list[str]

    @property
    def balanced(self) -> bool:
        return self.stored + self.refused + self.dead_lettered == self.sent

    def percentile(self, share: float) -> float:
        return percentile(self.latencies_ms, share)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")


def moment(text: str) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def store_lines(load: LoadRun) -> list[dict]:
    logs = aws.client("logs", load.endpoint)
    return [line for line in json_log_lines(logs, STORE) if load.is_ours(str(line.get("correlation_id", "")))]


def account(load: LoadRun, settled: Settled) -> Accounting:
    """Counts every outcome from the engine's records and lists whatever does not add up."""
    problems = list(load.redelivery_errors)
    by_id = {s.feedback_id: s for s in load.accepted}
    expected_stored = {s.feedback_id for s in load.of_kind("valid", "duplicate") if s.feedback_id}
    expected_dead = {s.feedback_id for s in load.of_kind("unstorable") if s.feedback_id}

    wrong_answers = [s for s in load.submissions if s.status != (400 if s.kind == "invalid" else 202)]
    for s in wrong_answers[:10]:
        problems.append(f"{s.correlation_id} ({s.kind}{': ' + s.reason if s.reason else ''}) got {s.status}: "
                        f"{str(s.answer)[:200]}")
    if len(wrong_answers) > 10:
        problems.append(f"... and {len(wrong_answers) - 10} more submissions got an unexpected answer")
    for s in load.refused:
        if not (isinstance(s.answer, dict) and s.answer.get("errors")):
            problems.append(f"{s.correlation_id} ({s.reason}) was refused without its reasons: {str(s.answer)[:200]}")

    items, dead_ids = settled.items, settled.dead_ids
    if set(items) != expected_stored:
        problems.append(f"stored {len(items)} items; expected {len(expected_stored)}: "
                        f"{len(expected_stored - set(items))} missing, {len(set(items) - expected_stored)} unexpected "
                        f"(e.g. {sorted(set(items) ^ expected_stored)[:3]})")
    twice = {fid: n for fid, n in Counter(dead_ids).items() if n > 1}
    if set(dead_ids) != expected_dead or twice:
        problems.append(f"dead-lettered {len(dead_ids)} messages; expected one for each of the "
                        f"{len(expected_dead)} unstorable submissions (twice: {twice})")
    per_correlation = Counter(item.get("correlation_id") for item in items.values())
    doubled = [cid for cid, n in per_correlation.items() if n > 1]
    if doubled:
        problems.append(f"{len(doubled)} correlation ids have more than one item, e.g. {doubled[:3]}")
    for fid, item in items.items():
        sent = by_id.get(fid)
        if sent and item.get("correlation_id") != sent.correlation_id:
            problems.append(f"item {fid} carries correlation id {item.get('correlation_id')}, "
                            f"the POST {sent.correlation_id}")
        if item.get("status") != "stored":
            problems.append(f"item {fid} has status {item.get('status')!r}, not 'stored'")

    lines = store_lines(load)
    stored_lines = Counter(line.get("feedback_id") for line in lines if line.get("event") == "stored")
    more = {fid: n for fid, n in stored_lines.items() if n > 1}
    if more:
        problems.append(f"{len(more)} feedback ids were stored more than once by the store's own account: "
                        f"{dict(list(more.items())[:3])}")
    if set(stored_lines) != set(items):
        problems.append(f"the store logged `stored` for {len(stored_lines)} ids, the table holds {len(items)}")
    duplicate_lines = Counter(line.get("feedback_id") for line in lines if line.get("event") == "duplicate")
    for s in load.of_kind("duplicate"):
        if not s.redelivered:
            problems.append(f"{s.correlation_id} was never delivered a second time")
        elif not duplicate_lines.get(s.feedback_id):
            problems.append(f"{s.correlation_id}'s second delivery was not refused as a duplicate by the store")
    receives = defaultdict(list)
    for line in lines:
        if line.get("event") == "received":
            receives[line.get("feedback_id")].append(int(line.get("receive_count", 0)))
    for fid in expected_dead:
        if sorted(receives.get(fid, [])) != list(range(1, MAX_RECEIVES + 1)):
            problems.append(f"unstorable {by_id[fid].correlation_id} was received {sorted(receives.get(fid, []))} "
                            f"times, not 1..{MAX_RECEIVES}")

    latencies, throughput, unreadable = timings(items.values())
    problems += [f"item {fid} lacks a readable received_at/stored_at" for fid in unreadable]
    return Accounting(len(load.submissions), len(load.refused), len(items), len(dead_ids), latencies, throughput,
                      [s.answered_ms for s in load.accepted if s.answered_ms is not None], problems)


def timings(items) -> tuple[list[float], float, list[str]]:
    """From stored items: each one's POST to stored (`stored_at` - `received_at`, ms), the items
    stored per second from the first `received_at` to the last `stored_at`, and the ids of the
    items whose times cannot be read."""
    latencies, first, last, unreadable = [], None, None, []
    for item in items:
        try:
            received, stored = moment(item["received_at"]), moment(item["stored_at"])
        except (KeyError, ValueError):
            unreadable.append(str(item.get("feedback_id")))
            continue
        latencies.append((stored - received).total_seconds() * 1000)
        first = received if first is None or received < first else first
        last = stored if last is None or stored > last else last
    span = (last - first).total_seconds() if first and last else 0.0
    return latencies, (len(latencies) / span if span > 0 else 0.0), unreadable


def escalated(load: LoadRun) -> Counter:
    """How many times each correlation id of this run reached the support team's queue."""
    seen = Counter()
    pattern = re.compile(rf"load-{re.escape(load.run)}-\d{{4}}")
    for message in our_messages(load, load.support_queue_url):
        seen.update(set(pattern.findall(message["text"])))
    return seen


def clean_up(load: LoadRun) -> dict[str, int]:
    """Removes what the run left: its items, and its messages on the dead-letter and support queues."""
    ddb, sqs = aws.client("dynamodb", load.endpoint), aws.client("sqs", load.endpoint)
    items = list(stored_items(load))
    for start in range(0, len(items), 25):
        requests = [{"DeleteRequest": {"Key": {"feedback_id": {"S": fid}}}} for fid in items[start:start + 25]]
        while requests:
            left = ddb.batch_write_item(RequestItems={load.table: requests}).get("UnprocessedItems", {})
            requests = left.get(load.table, [])
    return {"items": len(items),
            "dead letters": remove_messages(sqs, load.dlq_url, load.is_ours),
            "escalations": remove_messages(sqs, load.support_queue_url, load.is_ours)}


def summary(load: LoadRun, accounting: Accounting) -> list[str]:
    lat = accounting.latencies_ms
    return [
        f"sent {accounting.sent:,}: {accounting.refused:,} refused + {accounting.stored:,} stored + "
        f"{accounting.dead_lettered:,} dead-lettered = {accounting.refused + accounting.stored + accounting.dead_lettered:,}",
        f"POSTs took {load.posted_seconds:.1f} s from {load.threads} threads; "
        f"answer p50 {percentile(accounting.answered_ms, 0.5):.0f} ms, p95 {percentile(accounting.answered_ms, 0.95):.0f} ms",
        f"POST to stored: p50 {percentile(lat, 0.5):.0f} ms, p95 {percentile(lat, 0.95):.0f} ms "
        f"(mean {statistics.fmean(lat) if lat else float('nan'):.0f} ms); {accounting.throughput:.1f} stored per second",
    ]


def run(endpoint, args, say) -> int:
    """`make load LAB=11 [COUNT=2000]`: the whole run and its figures; then it removes what it made."""
    count = SENT if getattr(args, "count", None) is None else args.count
    if not 1 <= count <= MAX_COUNT:
        say(f"COUNT={count}: send from 1 to {MAX_COUNT:,} submissions, e.g. COUNT=200 for a quick run")
        return 2
    try:
        load = connect(endpoint, count=count)
    except NotReady as error:
        say(str(error))
        return 2
    kinds = Counter(s.kind for s in load.submissions)
    say(f"Load run {load.run}: {count:,} submissions ({kinds['invalid']} invalid, {kinds['duplicate']} delivered "
        f"twice, {kinds['unstorable']} unstorable) to {load.api_url}/feedback")
    try:
        send(load, say=say)
        accounting = account(load, settle(load, say=say))
        for line in summary(load, accounting):
            say(line)
        for problem in accounting.problems:
            say(f"  ✗ {problem}")
        if not accounting.problems:
            say("Every submission is accounted for, and none was stored twice.")
        return 0 if accounting.balanced and not accounting.problems else 1
    finally:
        removed = clean_up(load)
        say(f"Removed what the run made: {removed['items']:,} items, {removed['dead letters']} dead letter(s), "
            f"{removed['escalations']:,} escalations (the DLQ alarm's email and SMS stay in `make mail`).")

"""Reliability under load: 10,000 uploads through lab 02's pipeline, 1 % of them poison.

S3 notification -> SQS -> the reference upload processor (batches of 5, partial batch
responses) -> `processed/` + status table; poison -> 3 receives -> dead-letter queue. The test
counts every outcome: each good file has exactly one summary and one PROCESSED status, and
was processed again only on a redelivery; each poison file is rejected on every receive its
batch reached (one that timed out may not) and dead-lettered exactly once; processed + dead-lettered = sent. Marked `slow` (about 5½ minutes on 2
cores, beside the rest of the suite on `make test`'s other workers); `make test` and CI run it,
`make test-quick` leaves it out.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest

from edalab import bootstrap, labs
from edalab.checks import json_log_lines
from edalab.function_logs import log_messages
from edalab.waiting import wait_for, wait_for_or_last
from support import queue_depth

pytestmark = pytest.mark.slow

SENT = 10_000
POISON_EVERY = 100  # 1 %
PROCESSOR = "edalab-upload-processor"
BATCH_SIZE = 5  # the lab's event source mapping
GOOD = {"order_id": "L", "customer": "Load", "items": [{"sku": "a", "qty": 2, "unit_price": 1.25}]}
POISON = [b"{not json", json.dumps({**GOOD, "items": []}).encode(),
          json.dumps({**GOOD, "items": [{"sku": "a", "qty": True, "unit_price": 1}]}).encode()]


@pytest.fixture(scope="module")
def pipeline(lab_engine):
    lab = labs.find("02")
    # the lab's own timeouts (visibility 12 s, six times the function's 2 s), as a learner has
    # them: "zero duplicates" must not depend on a test's shortened visibility
    labs.deploy(lab, lab_engine.endpoint, solution=True)
    return lab_engine, bootstrap.stack_outputs(lab.stack.name, lab_engine.endpoint)


def upload_all(s3, bucket: str, run: str) -> tuple[set[str], set[str]]:
    """Uploads SENT files from 8 threads; returns (good keys, poison keys)."""
    good, poison = set(), set()

    def upload(n: int) -> None:
        key = f"incoming/load-{run}/{n:05d}.json"
        is_poison = n % POISON_EVERY == 0
        (poison if is_poison else good).add(key)
        body = POISON[(n // POISON_EVERY) % len(POISON)] if is_poison else json.dumps({**GOOD, "order_id": key})
        s3.put_object(Bucket=bucket, Key=key, Body=body)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(upload, range(SENT)))
    return good, poison


def statuses(ddb, table: str, run: str) -> Counter:
    """Status of each of this run's keys, counted by status."""
    seen: dict[str, str] = {}
    for page in ddb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="#k, #s",
                                                     ExpressionAttributeNames={"#k": "key", "#s": "status"}):
        for item in page["Items"]:
            if f"/load-{run}/" in item["key"]["S"]:
                seen[item["key"]["S"]] = item["status"]["S"]
    return Counter(seen.values())


def drain_dead_letters(sqs, url: str, run: str, keys: Counter) -> int:
    """Moves this run's dead letters into `keys` (deleting them); returns how many are counted."""
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
        body = json.loads(message["Body"])
        for record in body.get("Records", []):
            key = record["s3"]["object"]["key"]
            if f"/load-{run}/" in key:
                keys[key] += 1
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return sum(keys.values())


def test_ten_thousand_uploads_with_one_percent_poison_lose_and_double_nothing(pipeline):
    engine, out = pipeline
    s3, sqs, ddb, logs = (engine.client(s) for s in ("s3", "sqs", "dynamodb", "logs"))
    run = uuid.uuid4().hex[:8]
    good, poison = upload_all(s3, out["UploadsBucket"], run)
    assert len(good) + len(poison) == SENT and len(poison) == SENT // POISON_EVERY

    # cheap signals while the work goes on (a scan of 10,000 items would slow the engine down)
    wait_for(lambda: (queue_depth(sqs, out["UploadsQueueUrl"]), queue_depth(sqs, out["DeadLetterQueueUrl"])),
             what="the uploads queue to drain and the poison to reach the dead-letter queue", timeout=900,
             interval=2, until=lambda depths: depths[0] == 0 and depths[1] >= len(poison))
    dead = Counter()
    wait_for(lambda: drain_dead_letters(sqs, out["DeadLetterQueueUrl"], run, dead),
             what=f"{len(poison)} poison uploads in the dead-letter queue", timeout=120, interval=0,
             until=lambda n: n >= len(poison))
    wait_for(lambda: statuses(ddb, out["StatusTable"], run), what=f"{len(good)} uploads PROCESSED",
             timeout=60, interval=2, until=lambda counts: counts["PROCESSED"] >= len(good))

    final = statuses(ddb, out["StatusTable"], run)
    assert final == Counter({"PROCESSED": len(good), "REJECTED": len(poison)}), f"statuses: {dict(final)}"
    assert set(dead) == poison, f"dead-lettered: {_differ(set(dead), poison)}"
    assert set(dead.values()) == {1}, f"dead-lettered more than once: {_some({k: n for k, n in dead.items() if n > 1})}"
    summaries = {obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=out["UploadsBucket"], Prefix=f"processed/load-{run}/") for obj in page.get("Contents", [])}
    expected_summaries = {key.replace("incoming/", "processed/", 1) for key in good}
    assert summaries == expected_summaries, f"summaries: {_differ(summaries, expected_summaries)}"

    errors = {}  # key -> reason, for a line that says the processor failed (not the file)

    def told_by_logs() -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        lines = [line for line in json_log_lines(logs, PROCESSOR) if f"/load-{run}/" in str(line)]
        processed, rejected = defaultdict(list), defaultdict(list)  # key -> the receive count of each attempt
        for line in lines:
            if "processed" in line:
                processed[line["processed"]].append(line["attempt"])
            elif line.get("status") == "REJECTED":
                rejected[line["failed"]].append(line["attempt"])
            elif "failed" in line:
                errors[line["failed"]] = line.get("reason")
        return processed, rejected

    # a function's log lines reach its group after its invocation ends (seconds on a loaded machine);
    # past the deadline, the assertions below say precisely what the logs lack
    attempts, rejected = wait_for_or_last(told_by_logs, what="the processor's log lines of every upload", timeout=60,
                                          interval=2, until=lambda told: set(told[0]) >= good and sum(map(len, told[1].values())) >= 3 * len(poison))
    timed_out = sum("Task timed out" in message for message in log_messages(logs, PROCESSOR))
    assert not errors, f"the processor failed (not the file): {_some(errors)}"
    assert set(attempts) == good, f"uploads processed, by the logs: {_differ(set(attempts), good)}"
    # SQS is at-least-once: when an invocation fails as a whole (a batch that overran the function's
    # 2 s timeout while the engine was busy), the records it had already processed come back and are
    # processed again. That is a redelivery (a higher receive count), never the same delivery twice;
    # the outputs above hold one summary and one status per upload.
    twice = {key: seen for key, seen in attempts.items() if len(set(seen)) != len(seen)}
    assert not twice, f"processed twice on the same receive: {_some(twice)}"
    assert set(rejected) == poison, f"rejected, by the logs: {_differ(set(rejected), poison)}"
    # Each poison file is rejected once on each of its 3 receives (maxReceiveCount), except on a
    # receive whose batch timed out before reaching it: at most 5 records (a batch) per timeout.
    wrong = {key: seen for key, seen in rejected.items() if len(set(seen)) != len(seen) or not set(seen) <= {1, 2, 3}}
    assert not wrong, f"rejected twice on one receive, or past maxReceiveCount 3: {_some(wrong)}"
    unseen = sum(3 - len(seen) for seen in rejected.values())
    assert unseen <= BATCH_SIZE * timed_out, (
        f"{unseen} receives of poison files left no rejection line, and only {timed_out} invocation(s) timed out")
    assert len(attempts) + len(dead) == SENT


def _some(found: dict, n: int = 5) -> str:
    """A few entries of a large dict, and how many there are."""
    return f"{len(found)}, e.g. {dict(list(sorted(found.items()))[:n])}"


def _differ(seen: set, expected: set, n: int = 5) -> str:
    """How two large sets of keys differ, in a line."""
    missing, extra = sorted(expected - seen), sorted(seen - expected)
    return f"{len(seen)} of {len(expected)}; missing {len(missing)} {missing[:n]}; unexpected {len(extra)} {extra[:n]}"

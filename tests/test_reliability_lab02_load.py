"""Reliability under load: 10,000 uploads through lab 02's pipeline, 1 % of them poison.

S3 notification -> SQS -> the reference upload processor (batches of 5, partial batch
responses) -> `processed/` + status table; poison -> 3 receives -> dead-letter queue. The test
counts every outcome: each good file has exactly one summary and one PROCESSED status, and
was processed again only on a redelivery; each poison file is rejected on every receive and
dead-lettered exactly once; processed + dead-lettered = sent. Marked `slow` (about 5½ minutes on 2
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
from edalab.waiting import wait_for, wait_for_or_last
from support import queue_depth

pytestmark = pytest.mark.slow

SENT = 10_000
POISON_EVERY = 100  # 1 %
PROCESSOR = "edalab-upload-processor"
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
    assert final == Counter({"PROCESSED": len(good), "REJECTED": len(poison)})
    assert set(dead) == poison and set(dead.values()) == {1}  # each poison file dead-lettered once
    summaries = {obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=out["UploadsBucket"], Prefix=f"processed/load-{run}/") for obj in page.get("Contents", [])}
    assert summaries == {key.replace("incoming/", "processed/", 1) for key in good}

    def told_by_logs() -> tuple[dict[str, list[int]], Counter]:
        lines = [line for line in json_log_lines(logs, PROCESSOR) if f"/load-{run}/" in str(line)]
        attempts = defaultdict(list)  # key -> the receive count of each time it was processed
        for line in lines:
            if "processed" in line:
                attempts[line["processed"]].append(line["attempt"])
        return attempts, Counter(line["failed"] for line in lines if "failed" in line)

    # a function's log lines reach its group after its invocation ends (seconds on a loaded machine);
    # past the deadline, the assertions below say precisely what the logs lack
    attempts, rejected = wait_for_or_last(told_by_logs, what="the processor's log lines of every upload", timeout=60,
                                          interval=2, until=lambda told: set(told[0]) >= good and sum(told[1].values()) >= 3 * len(poison))
    assert set(attempts) == good
    # SQS is at-least-once: when an invocation fails as a whole (e.g. a batch that overran the
    # function's timeout while the engine was busy), the records it had already processed come
    # back and are processed again. That is a redelivery (a higher receive count), never the
    # same delivery twice; the outputs above hold one summary and one status per upload.
    assert all(len(set(seen)) == len(seen) for seen in attempts.values())
    assert set(rejected) == poison and set(rejected.values()) == {3}  # maxReceiveCount
    assert len(attempts) + len(dead) == SENT

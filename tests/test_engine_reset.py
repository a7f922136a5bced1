"""The engine's reset in place (`POST /_edalab/reset`, edalab/plugins/reset/): everything goes,
nothing of the old state keeps running, and the engine works afterwards.

These tests reset the engine, so they run on a private engine of their own (never the session's
`lab_engine`, which other tests share), with every lab deployed as `make up` does. On an engine
without the plugin (EDALAB_STOCK_SERVICES=reset) the route answers 404 and every test fails.

Leak bounds (20 resets, each after a cycle that starts a function process, a mapping's poller, an
alarm and a scheduled rule; measured from the engine's pid with psutil, after 5 warm-up cycles so
caches LocalStack fills once, such as its 256 internal clients, are full): at most 3 more threads,
40 more file descriptors and 40 MB more resident memory after cycle 20 than after cycle 5.
A reset that left one poller thread or one function process per cycle would pass 15 of each.
"""

from __future__ import annotations

import collections
import json
import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from edalab import aws, labs
from edalab.engine.host import HostEngine
from edalab.http_call import http
from edalab.plugins.lambda_.function_process import is_running
from edalab.plugins.reset import background, bounded, lambda_runtime, request_gate
from edalab.waiting import wait_for
from support import FAST_PARAMETERS, create_function, create_queue, free_port, receive_all

MAX_THREAD_GROWTH = 3
MAX_FD_GROWTH = 40
MAX_RSS_GROWTH_MB = 40
WARM_UP_CYCLES = 5
RESETS = 20
QUIET_SECONDS = 3.0  # how long the engine is watched for calls of the old state's background work
QUEUE_GONE = "AWS.SimpleQueueService.NonExistentQueue"  # what SendMessage to a deleted queue answers


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    """A host engine of this module's own, with every lab deployed (test settings)."""
    host = HostEngine(tmp_path_factory.mktemp("reset-engine"), free_port())
    host.start()
    os.environ.setdefault("EDALAB_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    try:
        labs.deploy_all(host.endpoint, parameters=FAST_PARAMETERS)
        yield host
    finally:
        host.stop()


def reset(host: HostEngine) -> dict:
    reply = http("POST", f"{host.endpoint}/_edalab/reset", timeout=60)
    assert reply.status == 200 and isinstance(reply.body, dict) and "errors" in reply.body, (
        f"POST /_edalab/reset answered {reply.status}, not the reset's document: {reply.text[:300]!r}")
    assert reply.body["errors"] == {}, reply.body
    return reply.body


def inbox_files(host: HostEngine) -> list[Path]:
    folder = host.state / "mail"
    return [path for part in ("new", "cur", "tmp") for path in (folder / part).glob("*") if path.is_file()]


def everything(host: HostEngine) -> dict[str, list]:
    """Every kind of thing a learner can make, as names, read from the engine."""
    def c(service):
        return aws.client(service, host.endpoint)

    return {
        "queues": c("sqs").list_queues().get("QueueUrls", []),
        "functions": [f["FunctionName"] for f in c("lambda").list_functions()["Functions"]],
        "mappings": [m["UUID"] for m in c("lambda").list_event_source_mappings()["EventSourceMappings"]],
        "alarms": [a["AlarmName"] for a in c("cloudwatch").describe_alarms()["MetricAlarms"]],
        "rules": [r["Name"] for r in c("events").list_rules()["Rules"]],
        "schedules": [s["Name"] for s in c("scheduler").list_schedules()["Schedules"]],
        "tables": c("dynamodb").list_tables()["TableNames"],
        "buckets": [b["Name"] for b in c("s3").list_buckets()["Buckets"]],
        "log groups": [g["logGroupName"] for g in c("logs").describe_log_groups()["logGroups"]],
        "topics": [t["TopicArn"] for t in c("sns").list_topics()["Topics"]],
        "REST APIs": [api["name"] for api in c("apigateway").get_rest_apis()["items"]],
        "stacks": [s["StackName"] for s in c("cloudformation").describe_stacks()["Stacks"]
                   if s["StackStatus"] != "DELETE_COMPLETE"],
        "emails": [p.name for p in inbox_files(host)],
        "ses record": http("GET", f"{host.endpoint}/_aws/ses").body.get("messages", []),
    }


def live(pids: list[int]) -> list[int]:
    return [pid for pid in pids if is_running(pid)]


def make_a_bit_of_everything(host: HostEngine, name: str) -> None:
    """What a learner makes after `make up`: one of each kind, with a function process running,
    a mapping polling, an alarm scheduled, a scheduled rule and an email in the inbox."""
    def c(service):
        return aws.client(service, host.endpoint)

    sqs, lam = c("sqs"), c("lambda")
    url, arn = create_queue(sqs, f"{name}-in")
    out_url, _ = create_queue(sqs, f"{name}-out")
    sqs.send_message(QueueUrl=url, MessageBody="left over")
    create_function(lam, name, "probe.py", env={"OUTPUT_QUEUE_URL": out_url})
    lam.invoke(FunctionName=name, Payload=json.dumps({"echo": 1}))  # its process now runs
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=1)["UUID"]
    wait_for(lambda: lam.get_event_source_mapping(UUID=mapping)["State"], what="the mapping to be Enabled",
             until=lambda state: state == "Enabled")
    c("cloudwatch").put_metric_alarm(
        AlarmName=f"{name}-alarm", Namespace="EdaLab/Reset", MetricName="Left", Statistic="Sum",
        Period=10, EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold")
    events = c("events")
    events.put_rule(Name=f"{name}-every-minute", ScheduleExpression="rate(1 minute)")
    events.put_targets(Rule=f"{name}-every-minute", Targets=[{"Id": "out", "Arn": arn}])
    c("scheduler").create_schedule(
        Name=f"{name}-schedule", ScheduleExpression="rate(5 minutes)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": "arn:aws:iam::000000000000:role/edalab-test"})
    c("dynamodb").create_table(TableName=f"{name}-table", BillingMode="PAY_PER_REQUEST",
                               KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                               AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    c("dynamodb").put_item(TableName=f"{name}-table", Item={"id": {"S": "left over"}})
    c("s3").create_bucket(Bucket=f"{name}-bucket")
    c("s3").put_object(Bucket=f"{name}-bucket", Key="left-over.txt", Body=b"x")
    c("logs").create_log_group(logGroupName=f"/edalab/{name}")


def send_email(host: HostEngine, subject: str) -> None:
    ses = aws.client("ses", host.endpoint)
    ses.verify_email_identity(EmailAddress="reset@edalab.local")
    ses.send_email(Source="reset@edalab.local", Destination={"ToAddresses": ["learner@edalab.local"]},
                   Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": "left over"}}})
    wait_for(lambda: inbox_files(host), what="the email in the local inbox")


def test_a_reset_leaves_nothing_and_no_function_process_and_the_engine_works_after(private):
    endpoint = private.endpoint
    deployed = everything(private)
    assert deployed["stacks"] and deployed["functions"] and deployed["queues"], "every lab should be deployed"
    make_a_bit_of_everything(private, "after-deploy")
    item_table = deployed["tables"][0]
    aws.client("dynamodb", endpoint).put_item(TableName=item_table, Item=_any_key(endpoint, item_table))
    aws.client("s3", endpoint).put_object(Bucket=deployed["buckets"][0], Key="by-hand.txt", Body=b"x")
    send_email(private, "made after deploy")
    processes = private.function_processes()
    assert processes, "the function invoked after deploy should have a process"

    document = reset(private)
    print(f"reset with every lab deployed: {document['seconds']} s; stopping {document['took']['stop']}")

    assert {"lambda", "sqs", "s3", "dynamodb", "events", "cloudwatch", "logs", "cloudformation"} <= set(
        document["services"]), document["services"]
    leftovers = {kind: names for kind, names in everything(private).items() if names}
    assert leftovers == {}, f"a reset left these behind: {leftovers}"
    wait_for(lambda: live(processes), what="every function process of the old state to end", timeout=10,
             until=lambda alive: not alive)
    assert private.function_processes() == []

    # nothing of the old state works in the background: the usage meter (zeroed by the reset)
    # counts no call by a mapping's poller or by the engine while nobody asks anything
    usage = f"{endpoint}/_edalab/usage"
    watch_until = time.monotonic() + QUIET_SECONDS
    while time.monotonic() < watch_until:  # watched, not slept: the first background call fails the test
        background = _background_calls(usage)
        assert background == {}, f"the old state still works in the background: {background}"
        time.sleep(0.25)

    # and the engine works: a new queue, function and mapping deliver a message
    sqs, lam = aws.client("sqs", endpoint), aws.client("lambda", endpoint)
    url, arn = create_queue(sqs, "after-reset-in")
    out_url, _ = create_queue(sqs, "after-reset-out")
    create_function(lam, "after-reset", "probe.py", env={"OUTPUT_QUEUE_URL": out_url})
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="after-reset", BatchSize=1)
    sqs.send_message(QueueUrl=url, MessageBody="after the reset")
    [forwarded] = receive_all(sqs, out_url, expected=1)
    assert json.loads(forwarded["Body"])["body"] == "after the reset"


def _any_key(endpoint: str, table: str) -> dict:
    """An item for `table` with only its key attributes, whatever the key is named and typed."""
    description = aws.client("dynamodb", endpoint).describe_table(TableName=table)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in description["AttributeDefinitions"]}
    values = {"S": "made-after-deploy", "N": "20261124", "B": b"made-after-deploy"}
    return {key["AttributeName"]: {types[key["AttributeName"]]: values[types[key["AttributeName"]]]}
            for key in description["KeySchema"]}


def _background_calls(usage_url: str) -> dict:
    """Calls the usage meter counted since the reset that no client made: a mapping's polls, a
    function's calls, the engine's deliveries (the test's own listings are the "client")."""
    rows = http("GET", usage_url).body["requests"]
    return {f"{row['service']}.{row['operation']} by {row['caller']}": row["count"]
            for row in rows if row["caller"] != "client" and row["count"]}


def test_a_reset_during_a_load_run_completes_and_leaves_a_clean_engine(private):
    lab = labs.find("02")
    labs.deploy(lab, private.endpoint, solution=True, parameters=FAST_PARAMETERS.get(lab.stack.name))
    from edalab.bootstrap import stack_outputs

    bucket = stack_outputs(lab.stack.name, private.endpoint)["UploadsBucket"]
    s3 = aws.client("s3", private.endpoint)
    stop = threading.Event()
    uploaded = []

    def upload(worker: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                s3.put_object(Bucket=bucket, Key=f"incoming/reset-{worker}-{n}.json",
                              Body=json.dumps({"order_id": f"r{worker}-{n}", "customer": "Load",
                                               "items": [{"sku": "a", "qty": 1, "unit_price": 1}]}))
                uploaded.append(n)
            except Exception:  # noqa: BLE001 - once the reset removed the bucket, uploads fail
                pass

    # a client sending to a queue through the reset meets the old state or the new one, never one
    # half taken apart (a closed queue answered 500 InternalError): it gets no error AWS would not give
    sqs = aws.client("sqs", private.endpoint, config=Config(retries={"max_attempts": 1}))  # errors seen, not retried
    send_url, _ = create_queue(sqs, "through-the-reset")
    send_answers: collections.Counter = collections.Counter()

    def send() -> None:
        while not stop.is_set():
            try:
                sqs.send_message(QueueUrl=send_url, MessageBody="sent through a reset")
                send_answers["sent"] += 1
            except ClientError as error:
                send_answers[error.response["Error"]["Code"]] += 1

    workers = [threading.Thread(target=upload, args=(i,), daemon=True) for i in range(4)]
    workers += [threading.Thread(target=send, daemon=True) for _ in range(2)]
    for worker in workers:
        worker.start()
    wait_for(lambda: private.function_processes(), what="the processor to run under the load", timeout=30)
    wait_for(lambda: len(uploaded), what="uploads streaming in", until=lambda n: n >= 50, timeout=30)
    wait_for(lambda: send_answers["sent"], what="messages being sent", until=lambda n: n >= 20, timeout=30)
    processes = private.function_processes()
    try:
        document = reset(private)
        wait_for(lambda: send_answers[QUEUE_GONE], what="sends after the reset", until=lambda n: n >= 5, timeout=30)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)

    assert document["status"] == "reset"
    assert set(send_answers) == {"sent", QUEUE_GONE}, f"SendMessage through the reset answered {dict(send_answers)}"
    print(f"reset during the load run: {document['seconds']} s, stopped {document['took']['stop']}")
    # uploads that were in the gateway while the reset ran may have re-created nothing: all gone
    leftovers = wait_for(lambda: {k: v for k, v in everything(private).items() if v}, what="a clean engine",
                         timeout=10, until=lambda found: found == {})
    assert leftovers == {}
    wait_for(lambda: live(processes), what="the load's function processes to end", timeout=10,
             until=lambda alive: not alive)
    assert private.function_processes() == []


def _cycle(host: HostEngine, n: int) -> None:
    make_a_bit_of_everything(host, f"cycle{n}")
    reset(host)
    assert host.function_processes() == [], f"cycle {n}: a function process outlived the reset"


def _footprint(pid: int) -> tuple[int, int, float]:
    process = psutil.Process(pid)
    return process.num_threads(), process.num_fds(), process.memory_info().rss / (1024 * 1024)


def test_twenty_resets_leak_no_threads_descriptors_or_memory(private):
    pid = private.pid()
    for n in range(WARM_UP_CYCLES):
        _cycle(private, n)
    threads, fds, rss = _footprint(pid)
    for n in range(WARM_UP_CYCLES, RESETS):
        _cycle(private, n)
    threads_after, fds_after, rss_after = _footprint(pid)
    grown = {"threads": threads_after - threads, "fds": fds_after - fds, "rss MB": round(rss_after - rss, 1)}
    print(f"after {RESETS} resets (vs. after {WARM_UP_CYCLES}): {grown}")
    assert grown["threads"] <= MAX_THREAD_GROWTH, grown
    assert grown["fds"] <= MAX_FD_GROWTH, grown
    assert grown["rss MB"] <= MAX_RSS_GROWTH_MB, grown


def test_only_post_resets(private):
    reply = http("GET", f"{private.endpoint}/_edalab/reset")
    assert reply.status == 405
    assert "POST /_edalab/reset" in reply.body["message"]


def _request(path: str = "/", internal: bool = False) -> SimpleNamespace:
    """What the gate reads of LocalStack's request context."""
    return SimpleNamespace(is_internal_call=internal, request=SimpleNamespace(method="POST", path=path))


def test_the_gate_holds_a_request_while_a_reset_holds_the_lock_and_lets_it_go_after(monkeypatch):
    held, release = threading.Event(), threading.Event()

    def reset_running() -> None:
        with background.LOCK:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=reset_running, daemon=True)
    holder.start()
    held.wait(10)
    try:
        # the engine's own routes and LocalStack's internal calls (maybe the reset's own) pass at once
        request_gate.wait_for_reset(None, _request("/_edalab/snapshot"), None)
        request_gate.wait_for_reset(None, _request("/_localstack/health"), None)
        request_gate.wait_for_reset(None, _request(internal=True), None)
        client = threading.Thread(target=request_gate.wait_for_reset, args=(None, _request(), None), daemon=True)
        client.start()
        client.join(timeout=0.5)
        assert client.is_alive(), "a client's request went on while the reset held the lock"
    finally:
        release.set()
    client.join(timeout=10)
    assert not client.is_alive(), "the request was still held after the reset ended"

    # a reset that never ends holds a request for WAIT_SECONDS at most
    monkeypatch.setattr(request_gate, "WAIT_SECONDS", 0.2)
    release.clear()
    held.clear()
    holder = threading.Thread(target=reset_running, daemon=True)
    holder.start()
    held.wait(10)
    try:
        started = time.monotonic()
        request_gate.wait_for_reset(None, _request(), None)
        assert time.monotonic() - started < 5
    finally:
        release.set()


def test_a_stop_that_hangs_holds_the_reset_for_the_stop_timeout_only(monkeypatch):
    monkeypatch.setattr(lambda_runtime, "STOP_TIMEOUT_SECONDS", 0.3)
    never_stops = threading.Event()
    stopped = []
    try:
        started = time.monotonic()
        count = lambda_runtime._in_parallel([lambda: never_stops.wait(60), lambda: stopped.append(1)],
                                            "environment or poller")
        assert count == 2 and stopped == [1]
        assert bounded.within(0.3, lambda: never_stops.wait(60), "a delivery under way") is False
        assert bounded.within(5, lambda: None, "a delivery under way") is True
        assert time.monotonic() - started < 10, "a hanging stop held the reset past its timeout"
    finally:
        never_stops.set()

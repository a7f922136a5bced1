"""Each benchmark figure: what it times on the engine, and the same loop on the baselines.

Why this exists: `bench/run.py` only orders the figures and reports them; the measuring lives
here, one function per figure. Each returns a Figure with the engine's samples and, for each
baseline that can serve the same requests, the baseline's samples (see bench/baselines.py).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from baselines import CannedServer, MotoServer
from support import (create_function, create_queue, deploy_lab, free_port, lab01_api, queue_depth,
                     zip_source)

from edalab import aws, bootstrap, labs, settings
from edalab.checks import http
from edalab.engine.host import HostEngine
from edalab.waiting import wait_for

BENCH_HANDLERS = Path(__file__).parent / "handlers"


@dataclass
class Figure:
    name: str
    unit: str  # "ms" (lower is better) or "msg/s" (higher is better)
    samples: list[float]
    baselines: dict[str, list[float] | None] = field(default_factory=dict)


def summary(samples: list[float] | None) -> dict | None:
    if not samples:
        return None
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(ordered), 1), "p95": round(p95, 1), "runs": len(ordered)}


def timed_ms(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def loop_ms(fn, runs: int) -> list[float]:
    fn()  # the first call opens connections and loads models; not counted
    return [timed_ms(fn) for _ in range(runs)]


# -- the front door -------------------------------------------------------------------------------
def front_door(runs: int) -> list[Figure]:
    """`make up` from cold (venv present, engine stopped) and warm, `make reset`, and `make lab`
    (read-only: its aim is 2 s at most), on an engine of their own; baseline: what any make
    target pays before it does anything."""
    state = Path(tempfile.mkdtemp(prefix="edalab-bench-make-"))
    env = {**os.environ, "EDALAB_ENGINE": "host", "EDALAB_PORT": str(free_port()), "EDALAB_STATE_DIR": str(state),
           "EDALAB_CONSOLE_PORT": str(free_port())}  # `make up` starts the console too: not on 8080
    env.pop("EDALAB_ENDPOINT", None)

    def make(target: str, *variables: str) -> None:
        done = subprocess.run(["make", "--no-print-directory", target, *variables], cwd=settings.REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"make {target} failed:\n{done.stdout}\n{done.stderr}")

    floor = [timed_ms(lambda: subprocess.run([sys.executable, "-c", "import edalab.cli"], check=True))
             for _ in range(runs)]
    cold, warm, reset = [], [], []
    try:
        for _ in range(runs):
            make("down")
            cold.append(timed_ms(lambda: make("up")))
        warm = [timed_ms(lambda: make("up")) for _ in range(runs)]
        reset = [timed_ms(lambda: make("reset")) for _ in range(runs)]
        lab = [timed_ms(lambda: make("lab", "LAB=04")) for _ in range(runs)]
    finally:
        make("down")
    base = {"python + imports": floor}
    return [Figure("make up, cold", "ms", cold, base), Figure("make up, warm", "ms", warm, base),
            Figure("make reset", "ms", reset, base), Figure("make lab LAB=04 (aim: 2 s)", "ms", lab, base)]


def engine_start(runs: int) -> tuple[Figure, HostEngine]:
    """Engine start to healthy; returns the last engine, left running for the other figures."""
    samples, engine = [], None
    for i in range(runs):
        engine = HostEngine(Path(tempfile.mkdtemp(prefix="edalab-bench-")), free_port())
        samples.append(engine.start() * 1000)
        if i < runs - 1:
            engine.stop()
    moto = []
    for _ in range(runs):
        server = MotoServer()
        moto.append(server.start() * 1000)
        server.stop()
    return Figure("engine start to healthy", "ms", samples, {"moto server": moto}), engine


# -- the learner loop --------------------------------------------------------------------------------
def lab_checks(engine: HostEngine, runs: int) -> list[Figure]:
    """`make check` on the reference solution of labs 02 and 04, deployed with the lab's own
    settings (what a learner waits for; lab 04's aim is 90 s). No baseline: nothing else does
    what a check does; the figure is tracked against its aim and its earlier runs."""
    from edalab.check_run import run_check

    endpoint, measured = engine.endpoint, []
    os.environ["EDALAB_MAIL_DIR"] = str(engine.state / "mail")  # lab 04's check reads this engine's inbox
    for number, aim in (("02", ""), ("04", " (aim: 90 s)")):
        lab = labs.find(number)
        labs.deploy(lab, endpoint, solution=True, say=lambda text: None)  # the template's own parameters
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            report = run_check(lab, endpoint)
            samples.append((time.perf_counter() - started) * 1000)
            if not report.passed:
                raise RuntimeError(f"lab {number}'s check failed on its solution: {report.first_failure}")
        measured.append(Figure(f"make check LAB={number} on the solution{aim}", "ms", samples))
    return measured


# -- single requests and event latencies ------------------------------------------------------------
def warm_invoke(endpoint: str, runs: int) -> Figure:
    lam = aws.client("lambda", endpoint)
    create_function(lam, "bench-echo", "probe.py")

    def invoke_on(client):
        return lambda: client.invoke(FunctionName="bench-echo", Payload=b'{"echo": 1}')

    with CannedServer() as canned:
        baseline = loop_ms(invoke_on(aws.client("lambda", canned)), runs)
    return Figure("warm Lambda invoke", "ms", loop_ms(invoke_on(lam), runs),
                  {"canned server": baseline, "moto server": None})  # moto runs Lambda in Docker only


def api_request(endpoint: str, runs: int) -> Figure:
    """POST /items on lab 01's API: API Gateway -> Lambda -> DynamoDB and back."""
    api = lab01_api(SimpleNamespace(endpoint=endpoint))
    body = {"name": "lamp", "price": 10, "tags": ["bench"]}
    samples = loop_ms(lambda: api("POST", body=body), runs)
    with CannedServer() as canned:
        baseline = loop_ms(lambda: http("POST", f"{canned}/items", body), runs)
    return Figure("API Gateway -> Lambda -> DynamoDB (lab 01)", "ms", samples,
                  {"canned server": baseline, "moto server": None})


def upload_processed(endpoint: str, runs: int) -> Figure:
    """S3 put -> notification -> SQS -> lab 02's processor -> status recorded."""
    lab = labs.find("02")
    deploy_lab(lab, endpoint, solution=True)
    out = bootstrap.stack_outputs(lab.stack.name, endpoint)
    s3, ddb = aws.client("s3", endpoint), aws.client("dynamodb", endpoint)
    body = json.dumps({"order_id": "B", "customer": "Bench", "items": [{"sku": "a", "qty": 1, "unit_price": 1}]})

    def one() -> None:
        key = f"incoming/bench-{uuid.uuid4().hex}.json"
        s3.put_object(Bucket=out["UploadsBucket"], Key=key, Body=body)
        wait_for(lambda: ddb.get_item(TableName=out["StatusTable"], Key={"key": {"S": key}}).get("Item"),
                 what=f"{key} processed", interval=0.01)

    samples = loop_ms(one, runs)

    def put_on(url: str):
        client = aws.client("s3", url)
        client.create_bucket(Bucket="bench")
        return lambda: client.put_object(Bucket="bench", Key="k.json", Body=body)

    with CannedServer() as canned:
        canned_put = loop_ms(put_on(canned), runs)
    with MotoServer() as moto:
        moto_put = loop_ms(put_on(moto), runs)
    return Figure("S3 put -> processed (lab 02)", "ms", samples,
                  {"canned server": canned_put, "moto server": moto_put})


# -- pipeline throughput ------------------------------------------------------------------------------
def _publish(sns, topic_arn: str, run: str, messages: int) -> None:
    """`messages` events in PublishBatch calls of 10, from 4 threads."""
    def batch(start: int) -> None:
        entries = [{"Id": str(n), "Message": json.dumps({"id": f"{run}-{n}", "sent_at": time.time()})}
                   for n in range(start, min(start + 10, messages))]
        sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=entries)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(batch, range(0, messages, 10)))


def _fan_out(client_for, queue_name: str) -> tuple[str, str]:
    """A topic with a raw-delivery queue subscription; returns (topic ARN, queue URL)."""
    sns, sqs = client_for("sns"), client_for("sqs")
    queue_url, queue_arn = create_queue(sqs, queue_name, VisibilityTimeout=30)
    topic_arn = sns.create_topic(Name=f"{queue_name}-topic")["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return topic_arn, queue_url


def pipeline_throughput(endpoint: str, messages: int, runs: int) -> Figure:
    """Messages per second through SNS -> SQS -> Lambda (batch 10) -> DynamoDB: from the first
    publish until the last item is in the table."""
    def engine_client(service):
        return aws.client(service, endpoint)

    lam, ddb, sns = engine_client("lambda"), engine_client("dynamodb"), engine_client("sns")
    topic_arn, _ = _fan_out(engine_client, "bench-fanout")
    queue_arn = f"arn:aws:sqs:{settings.REGION}:{settings.ACCOUNT_ID}:bench-fanout"
    lam.create_function(FunctionName="bench-writer", Runtime="python3.13", Handler="app.handler",
                        Role="arn:aws:iam::000000000000:role/bench", Timeout=30,
                        Code={"ZipFile": zip_source((BENCH_HANDLERS / "event_writer.py").read_text())},
                        Environment={"Variables": {"TABLE_NAME": "bench-events-0"}})
    lam.create_event_source_mapping(FunctionName="bench-writer", EventSourceArn=queue_arn, BatchSize=10)
    samples = []
    for run in range(runs):
        table = f"bench-events-{run}"
        ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        lam.update_function_configuration(FunctionName="bench-writer", Environment={"Variables": {"TABLE_NAME": table}})
        wait_for(lambda: lam.get_function(FunctionName="bench-writer")["Configuration"].get("LastUpdateStatus"),
                 what="the writer's new configuration", until=lambda status: status == "Successful")
        started = time.perf_counter()
        _publish(sns, topic_arn, f"r{run}", messages)
        wait_for(lambda: ddb.scan(TableName=table, Select="COUNT")["Count"], what=f"{messages} items in {table}",
                 timeout=600, interval=0.5, until=lambda n: n >= messages)
        samples.append(messages / (time.perf_counter() - started))

    with CannedServer() as canned:
        canned_rates = []
        for _ in range(runs):
            started = time.perf_counter()
            _publish(aws.client("sns", canned), "arn:aws:sns:us-east-1:000000000000:canned", "c", messages)
            canned_rates.append(messages / (time.perf_counter() - started))
    with MotoServer() as moto:
        def moto_client(service):
            return aws.client(service, moto)
        moto_rates = []
        for run in range(runs):
            moto_topic, moto_queue = _fan_out(moto_client, f"bench-{run}")
            started = time.perf_counter()
            _publish(moto_client("sns"), moto_topic, f"m{run}", messages)
            moto_sqs = moto_client("sqs")
            wait_for(lambda: queue_depth(moto_sqs, moto_queue), what="moto's queue to hold every message",
                     timeout=300, until=lambda n: n >= messages)
            moto_rates.append(messages / (time.perf_counter() - started))
    return Figure(f"SNS -> SQS -> Lambda (batch 10) -> DynamoDB, {messages:,} msgs", "msg/s", samples,
                  {"canned server": canned_rates, "moto server": moto_rates})

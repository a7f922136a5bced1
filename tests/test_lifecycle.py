"""The front door as a newcomer uses it: `make up`, again, `make status`, the welcome stack's
flows, `make down`, and recovery after the engine is killed.

These run the real make targets against a second host engine with its own port and state
folder, so they never touch an engine a learner started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from edalab import aws, inventory, settings
from edalab.bootstrap import stack_outputs
from edalab.checks import http
from edalab.engine.host import HostEngine
from edalab.plugins.lambda_.function_process import is_running
from edalab.waiting import wait_for
from support import free_port, queue_depth


@pytest.fixture(scope="module")
def lab_env(tmp_path_factory):
    state = tmp_path_factory.mktemp("make-up")
    env = {**os.environ, "EDALAB_ENGINE": "host", "EDALAB_PORT": str(free_port()), "EDALAB_STATE_DIR": str(state),
           "EDALAB_CONSOLE_PORT": str(free_port())}  # `make up` starts a console too: never on a learner's 8080
    env.pop("EDALAB_ENDPOINT", None)
    yield env
    make(env, "down")


def make(env: dict, target: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=settings.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def engine_of(env: dict) -> HostEngine:
    return HostEngine(Path(env["EDALAB_STATE_DIR"]), int(env["EDALAB_PORT"]))


def test_make_up_starts_the_engine_and_deploys_the_labs(lab_env):
    result = make(lab_env, "up")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "engine healthy after" in result.stdout
    assert "edalab-00-welcome: created" in result.stdout
    assert engine_of(lab_env).is_up()


def test_a_second_make_up_reports_up_and_changes_nothing(lab_env):
    started = time.monotonic()
    result = make(lab_env, "up")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Already up" in result.stdout
    assert "edalab-00-welcome: unchanged" in result.stdout
    assert time.monotonic() - started < 60  # generous: the point is no redeploy, see bench/


def settled_snapshot(endpoint: str) -> dict:
    """The inventory once in-flight events (e.g. S3's s3:TestEvent after deploy) are done:
    two snapshots in a row that are equal."""
    previous = None

    def probe():
        nonlocal previous
        current = inventory.snapshot(endpoint)
        stable, previous = current == previous, current
        return current if stable else None

    return wait_for(probe, what="the environment to settle", timeout=30, interval=0.5)


def test_make_reset_removes_what_a_learner_added_and_restores_the_baseline(lab_env):
    endpoint = engine_of(lab_env).endpoint
    baseline = settled_snapshot(endpoint)
    sqs, s3, ddb, sns = (aws.client(s, endpoint) for s in ("sqs", "s3", "dynamodb", "sns"))
    sqs.create_queue(QueueName="learner-extra")
    sqs.send_message(QueueUrl=stack_outputs("edalab-00-welcome", endpoint)["NewsQueueUrl"], MessageBody="left over")
    s3.put_object(Bucket="edalab-items-snapshots", Key="by-hand.txt", Body=b"x")
    s3.create_bucket(Bucket="learner-bucket")
    ddb.put_item(TableName="edalab-items", Item={"id": {"S": "by-hand"}})
    sns.create_topic(Name="learner-topic")
    assert inventory.snapshot(endpoint) != baseline

    result = make(lab_env, "reset")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Reset to the baseline" in result.stdout
    assert settled_snapshot(endpoint) == baseline


def test_make_status_shows_mode_health_resources_and_queues(lab_env):
    result = make(lab_env, "status")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Engine: host, healthy" in out
    assert "Resources:" in out and "stacks" in out
    assert "edalab-welcome-uploads-dlq" in out


def test_the_welcome_stack_carries_every_integration(lab_env):
    endpoint = engine_of(lab_env).endpoint
    outputs = stack_outputs("edalab-00-welcome", endpoint)
    s3, sns, events, ddb = (aws.client(s, endpoint) for s in ("s3", "sns", "events", "dynamodb"))
    s3.put_object(Bucket=outputs["UploadsBucket"], Key="incoming/one.json", Body=b'{"n": 1}')
    s3.put_object(Bucket=outputs["UploadsBucket"], Key="direct/two.txt", Body=b"two")
    sns.publish(TopicArn=outputs["NewsTopicArn"], Message="news",
                MessageAttributes={"kind": {"DataType": "String", "StringValue": "welcome"}})
    events.put_events(Entries=[{"Source": "edalab.welcome", "DetailType": "Hello", "Detail": "{}"}])
    reply = http("POST", f"{endpoint}/_aws/execute-api/{outputs['ApiId']}/dev/events", {"id": "first"})
    assert reply.status == 201

    def sources():
        items = ddb.scan(TableName=outputs["EventsTable"])["Items"]
        return {item["pk"]["S"] for item in items}

    wait_for(sources, what="an event from every integration in the welcome table",
             until=lambda seen: seen >= {"s3", "sqs", "sns", "eventbridge", "api"})


def live(pids: list[int]) -> list[int]:
    """The pids still running (a process that ends between two looks counts as gone)."""
    return [pid for pid in pids if is_running(pid)]


def test_make_down_leaves_no_engine_or_function_process(lab_env):
    engine = engine_of(lab_env)
    engine_pid = engine.pid()
    functions = engine.function_processes()
    assert engine_pid and functions, "the welcome flows should have started function processes"
    started = time.monotonic()
    result = make(lab_env, "down")
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.monotonic() - started < 15  # make down promises 10 s; make itself adds a little
    assert live([engine_pid, *functions]) == []
    assert make(lab_env, "down").returncode == 0  # a second down is harmless


def test_after_the_engine_is_killed_mid_flight_status_says_so_and_make_up_restores_the_baseline(lab_env):
    assert make(lab_env, "up").returncode == 0
    engine = engine_of(lab_env)
    baseline = settled_snapshot(engine.endpoint)
    outputs = stack_outputs("edalab-00-welcome", engine.endpoint)
    s3, sqs = aws.client("s3", engine.endpoint), aws.client("sqs", engine.endpoint)
    news = outputs["NewsQueueUrl"]  # no consumer: these stay queued
    for n in range(20):
        sqs.send_message(QueueUrl=news, MessageBody=f"queued {n}")
    for n in range(30):  # S3 -> SQS -> Lambda, in flight when the engine dies
        s3.put_object(Bucket=outputs["UploadsBucket"], Key=f"incoming/in-flight-{n}.json", Body=b'{"n": 1}')
    functions = wait_for(engine.function_processes, what="a function process working on the uploads")
    engine_pid = engine.pid()
    os.killpg(engine_pid, signal.SIGKILL)
    wait_for(lambda: engine.pid(), what="the killed engine to be gone", until=lambda pid: pid is None)

    status = make(lab_env, "status")
    assert status.returncode != 0
    assert "ended without `make down`" in status.stdout
    assert "in flight" in status.stdout and "lost" in status.stdout

    result = make(lab_env, "up")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ended without `make down`" in result.stdout and "in flight" in result.stdout
    assert "Restored the baseline snapshot" in result.stdout  # state was in memory: back from the snapshot
    assert live([engine_pid, *functions]) == []  # nothing of the killed engine is left running
    assert settled_snapshot(engine.endpoint) == baseline  # no queued or half-processed leftovers
    dlq = stack_outputs("edalab-00-welcome", engine.endpoint)["UploadsDeadLetterQueueUrl"]
    assert queue_depth(sqs, dlq) == 0 and queue_depth(sqs, news) == 0
    assert make(lab_env, "status").returncode == 0

"""Helpers the engine tests share: deploying a test handler, making queues, reading them.

Why this exists: each test builds the few resources it needs (with unique names) instead of
leaning on a shared stack, so a failure points at one integration. Deploying a function
and draining a queue are the same few lines everywhere; they live here once.
"""

from __future__ import annotations

import io
import json
import socket
import time
import zipfile
from pathlib import Path

import psutil

from edalab import labs
from edalab.loop import run_solution_script
from edalab.waiting import wait_for

HANDLERS = Path(__file__).parent / "handlers"
# Retries in labs 02, 04, 05 and 06 wait for the queue's visibility timeout, and lab 04's
# alarm for its period; tests shorten them.
FAST_PARAMETERS = {
    # Visibility 3x the function's timeout: a mapping runs up to 5 batches at once (as AWS starts),
    # so a message whose visibility ran out during a slow cold start would be taken by another
    # batch and processed twice; AWS advises 6x.
    "edalab-02-s3-sqs-lambda": {"VisibilityTimeout": "6", "FunctionTimeout": "2"},
    "edalab-04-dead-letter-queues": {"VisibilityTimeout": "6", "FunctionTimeout": "2", "AlarmPeriod": "10"},
    "edalab-05-fifo-ordering": {"VisibilityTimeout": "8"},  # batches under load take seconds
    "edalab-06-batch-processing": {"VisibilityTimeout": "3", "FunctionTimeout": "3"},
    "edalab-07-monitoring": {"VisibilityTimeout": "6", "FunctionTimeout": "2", "SlowOrderSeconds": "1.2", "AlarmPeriod": "10"},
    "edalab-09-runbooks": {"VisibilityTimeout": "9", "FunctionTimeout": "3"},  # poison in the DLQ in ~20 s
    "edalab-10-testing": {"VisibilityTimeout": "3", "FunctionTimeout": "1"},  # each mutant run: seconds
    "edalab-08-cost-performance": {"WorkRounds": "2000"},  # a tenth of the CPU per upload: quick, steadier runs
    "edalab-11-capstone-feedback": {"VisibilityTimeout": "6", "FunctionTimeout": "2", "AlarmPeriod": "10"},
}
ROLE = "arn:aws:iam::000000000000:role/edalab-test"


def free_port() -> int:
    """A loopback port nobody listens on right now (for an engine or a server of our own)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zip_source(source: str, name: str = "app.py") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, source)
    return buffer.getvalue()


def create_function(lam, name: str, handler_file: str, *, timeout: int = 10, env: dict | None = None) -> str:
    """Deploys tests/handlers/<handler_file> as `app.py`; returns the function ARN once Active."""
    code = zip_source((HANDLERS / handler_file).read_text())
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Handler="app.handler",
        Role=ROLE,
        Code={"ZipFile": code},
        Timeout=timeout,
        Environment={"Variables": env or {}},
    )["FunctionArn"]
    wait_for(
        lambda: lam.get_function(FunctionName=name)["Configuration"]["State"],
        what=f"function {name} to become Active",
        until=lambda state: state == "Active",
    )
    return arn


def function_pids(engine, function_name: str) -> list[int]:
    """Pids of the host engine's live processes that run `function_name`."""
    pids = []
    for pid in engine.host.function_processes():
        try:
            if psutil.Process(pid).environ().get("AWS_LAMBDA_FUNCTION_NAME") == function_name:
                pids.append(pid)
        except psutil.Error:
            pass  # gone since it was listed
    return pids


def create_queue(sqs, name: str, **attributes) -> tuple[str, str]:
    """Creates a queue; returns (url, arn)."""
    url = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive_all(sqs, url: str, expected: int, timeout: float = 30.0) -> list[dict]:
    """Receives and deletes messages until `expected` have arrived (or the deadline passes)."""
    received: list[dict] = []

    def probe():
        for message in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", []):
            received.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(received)

    wait_for(probe, what=f"{expected} message(s) on {url}", timeout=timeout, until=lambda n: n >= expected)
    return received


def queue_depth(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def bodies(messages: list[dict]) -> list[dict]:
    return [json.loads(m["Body"]) for m in messages]


def allow_service_to_send(sqs, queue_url: str, queue_arn: str, service: str) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sqs:SendMessage", "Resource": queue_arn}
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})


def lab01_api(engine):
    """Deploys lab 01's solution; returns call(method, path="", body=None, raw=None) on /items."""
    from edalab import bootstrap
    from edalab.checks import CheckContext

    lab = labs.find("01")
    deploy_lab(lab, engine.endpoint, solution=True)
    ctx = CheckContext(lab, engine.endpoint)
    base = ctx.api_url(bootstrap.stack_outputs(lab.stack.name, engine.endpoint)["ApiId"], "dev", "items")
    return lambda method, path="", body=None, raw=None: ctx.http(method, base + path, body=body, raw=raw)


def edit_file(path: Path, replacements: list[tuple[str, str]]) -> None:
    """Applies (old, new) replacements to a copy of a lab's file; each old text must be in it,
    so a near miss cannot silently stop being one when the solution changes."""
    text = path.read_text()
    for old, new in replacements:
        assert old in text, f"near miss of {path.name}: {old!r} is not in it any more"
        text = text.replace(old, new)
    path.write_text(text)


def empty_welcome_recorder(endpoint: str) -> None:
    """Empties lab 00's recorder table: the lab as a learner finds it after `make up`."""
    from edalab import aws, bootstrap

    table = bootstrap.stack_outputs(labs.find("00").stack.name, endpoint)["EventsTable"]
    ddb = aws.client("dynamodb", endpoint)
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            ddb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})


def deploy_near_miss(lab: labs.Lab, endpoint: str, folder: Path, edits: dict[str, list[tuple[str, str]]]) -> None:
    """Deploys the lab's reference solution with a few edits, a near miss its check must fail.
    `edits` maps an exercise file's repository path to (old, new) replacements, each of which
    must match; the edited copy is written under `folder`, never over the lab's own files."""
    import shutil

    from edalab import bootstrap

    shutil.copytree(lab.solution_dir, folder, dirs_exist_ok=True)
    for rel, replacements in edits.items():
        edit_file(folder / rel, replacements)
    handlers = folder / "handlers"
    sources = {p.name: p for p in handlers.iterdir() if p.is_dir()} if handlers.is_dir() else {}
    bootstrap.deploy_stack(lab.stack, endpoint, handler_sources=sources, parameters=FAST_PARAMETERS.get(lab.stack.name))
    if (lab.folder / "post_deploy.py").exists():
        lab.load_module("post_deploy.py").apply(endpoint, folder, print)


def deploy_lab(lab: labs.Lab, endpoint: str, solution: bool) -> None:
    """Deploys a lab's exercise (as in the repository) or its reference solution. An exercise file
    the solution's commands write (lab 08's choice) goes to a folder of its own, never over the
    working tree's."""
    import tempfile

    labs.deploy(lab, endpoint, solution=solution, parameters=FAST_PARAMETERS.get(lab.stack.name))
    if solution and lab.solution_script.exists():
        with tempfile.TemporaryDirectory(prefix=f"edalab-solution-{lab.number}-") as exercise_root:
            run_solution_script(lab, endpoint, exercise_root=Path(exercise_root))


def settled_stack_contents(endpoint: str, stack_name: str, quiet_seconds: float = 2.0, timeout: float = 30.0) -> dict:
    """`stack_contents` once it has stopped changing for `quiet_seconds`: what a solution's own
    messages leave once their functions have run (a batching window holds a message up to its
    length before the function sees it, as on AWS)."""
    last = {"contents": None, "since": time.monotonic()}

    def settled():
        now = stack_contents(endpoint, stack_name)
        if now != last["contents"]:
            last["contents"], last["since"] = now, time.monotonic()
        return now if time.monotonic() - last["since"] >= quiet_seconds else None
    return wait_for(settled, what=f"{stack_name}'s queues, tables and buckets to stop changing",
                    timeout=timeout, interval=0.25)


def stack_contents(endpoint: str, stack_name: str) -> dict:
    """What a check could leave behind in one lab's stack: each table's item keys, each
    bucket's object versions, each queue's message count (visible and in flight). Two equal
    results mean a check cleaned up after itself."""
    from edalab import aws

    cfn, ddb, s3, sqs = (aws.client(s, endpoint) for s in ("cloudformation", "dynamodb", "s3", "sqs"))
    contents: dict = {}
    for resource in cfn.describe_stack_resources(StackName=stack_name)["StackResources"]:
        kind, name = resource["ResourceType"], resource.get("PhysicalResourceId")
        if kind == "AWS::DynamoDB::Table":
            keys = [k["AttributeName"] for k in ddb.describe_table(TableName=name)["Table"]["KeySchema"]]
            items = ddb.get_paginator("scan").paginate(TableName=name)
            contents[f"table {name}"] = sorted(
                json.dumps({k: i[k] for k in keys}, sort_keys=True) for page in items for i in page["Items"])
        elif kind == "AWS::S3::Bucket":
            versions = s3.get_paginator("list_object_versions").paginate(Bucket=name)
            contents[f"bucket {name}"] = sorted(
                f"{v['Key']}@{v['VersionId']}" for page in versions
                for v in page.get("Versions", []) + page.get("DeleteMarkers", []))
        elif kind == "AWS::SQS::Queue":
            contents[f"queue {name.rsplit('/', 1)[-1]}"] = queue_depth(sqs, name)
    return contents


def assert_near_miss_fails(lab: labs.Lab, endpoint: str, folder: Path, edits: dict[str, list[tuple[str, str]]],
                           step_title: str, said: str | list[str], hint: int | None):
    """Deploys a near miss (`deploy_near_miss`), runs the lab's check and asserts its verdict:
    the first failed step is the one that proves the broken rule, its message names the rule
    (each of `said`), it points at the hint on that rule, and the check cleaned up. Returns
    the report for anything more a test wants to see."""
    from edalab.check_run import run_check

    deploy_near_miss(lab, endpoint, folder, edits)
    report = run_check(lab, endpoint)
    failure = report.first_failure
    assert failure is not None, f"the check of lab {lab.number} passed a near miss: {edits}"
    assert failure.title.startswith(step_title), report.results
    for words in [said] if isinstance(said, str) else said:
        assert words in failure.message, failure.message
    assert failure.hint == hint, failure
    assert report.cleanup_problems == []
    return report

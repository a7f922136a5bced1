"""Lab 10 check: your end-to-end test is itself tested. It must pass against the correct
processor and fail against each mutant the lab ships (labs/10-testing/mutants.py): a handler
that drops the record, processes it twice, retries it after success, swallows the error, writes
the wrong total, or parks it in the DLQ at once. The check names every mutant that survived.

Your test runs in a subprocess (pytest, as you would run it) against this engine; between runs
the check swaps the code of edalab-tested-processor. At the end it puts the correct code back
and removes what the runs left: the files, status items and dead-lettered messages that were
not there before it started.
"""

import json
import os
import subprocess
import sys
import time

from botocore.exceptions import ClientError

from edalab import settings
from edalab.checks import CheckFailed, step

RUN_LIMIT_VISIBILITIES = 10  # a run of your test may take at most this many visibility timeouts (+ 30 s)
# The error the function logs because of how the check works, not because of your test: a mutant
# that redelivers a message finds its upload already removed by your test's cleanup. Not shown as
# the cause of a failed step (the processor is ours; only your test is under review).
EXPECTED_ERRORS = ("NoSuchKey",)


def _mutants(ctx):
    return ctx.lab.load_module("mutants.py")


def _visibility(ctx):
    return int(ctx.client("sqs").get_queue_attributes(
        QueueUrl=ctx.output("UploadsQueueUrl"), AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"])


def _test_file(ctx):
    """The test deployed last (post_deploy.py records it), else yours."""
    module = ctx.lab.load_module("post_deploy.py")
    try:
        recorded = ctx.client("ssm").get_parameter(Name=module.PARAMETER)["Parameter"]["Value"]
    except ClientError:
        recorded = module.EXERCISE
    return settings.REPO_ROOT / recorded


def _run_test(ctx, what):
    """Runs the end-to-end test file with pytest; returns (passed, what it said)."""
    path = _test_file(ctx)
    if not path.is_file():
        raise CheckFailed(f"there is no test file {path}: `git checkout {path.relative_to(settings.REPO_ROOT)}` "
                          "brings the exercise back", hint=1)
    # no third-party pytest plugins: loading them all (browsers, xdist, ...) costs seconds per run
    env = {**os.environ, "EDALAB_ENDPOINT": ctx.endpoint, "PYTHONDONTWRITEBYTECODE": "1",
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    command = [sys.executable, "-m", "pytest", str(path), "-q", "-x", "-p", "no:cacheprovider", "--no-header",
               "--tb=short", "-o", "addopts=", "--rootdir", str(settings.REPO_ROOT)]
    process = subprocess.Popen(command, cwd=settings.REPO_ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    limit = RUN_LIMIT_VISIBILITIES * _visibility(ctx) + 30
    try:
        ctx.wait_for(lambda: process.poll() is not None, what=what, timeout=limit, interval=0.2,
                     missing=lambda _: f"your test to finish (it ran {limit} s)")
    except CheckFailed:
        process.kill()
        process.communicate()
        raise CheckFailed(f"your test ran over {limit} s ({what}): give each wait a deadline "
                          "(the helpers' timeout=...), a few visibility timeouts at most", hint=3) from None
    except BaseException:  # Ctrl-C or anything else: the learner's test must not go on uploading
        process.kill()
        process.communicate()
        raise
    said = process.communicate()[0]
    if process.returncode == 5:
        raise CheckFailed(f"pytest found no test in {path.name}: a test is a function whose name starts with "
                          "test_", hint=1)
    if process.returncode not in (0, 1):
        raise CheckFailed(f"{path.name} did not run (pytest exit code {process.returncode}):\n" + _tail(said), hint=1)
    return process.returncode == 0, said


def _tail(said, lines=14):
    """What pytest said about the failure: its `E` lines (the assertion), else the last lines."""
    errors = [line for line in said.splitlines() if line.startswith("E ")]
    return "\n".join("  " + line for line in (errors[:lines] or said.splitlines()[-lines:]))


def _inventory(ctx):
    """The keys, items and dead-lettered messages there now (what the runs must not leave)."""
    s3, ddb, bucket = ctx.client("s3"), ctx.client("dynamodb"), ctx.output("UploadsBucket")
    objects = {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
               for o in page.get("Contents", [])}
    items = {i["key"]["S"] for page in ddb.get_paginator("scan").paginate(TableName=ctx.output("StatusTable"))
             for i in page["Items"]}
    messages = {m.message_id for url in (ctx.output("UploadsQueueUrl"), ctx.output("DeadLetterQueueUrl"))
                for m in ctx.queue_messages(url)}
    return objects, items, messages


def _remove_what_runs_left(ctx, before):
    """Once the queue holds none of the runs' messages (each invalid one reaches the DLQ within
    4 visibility timeouts), removes the runs' dead-lettered messages, files and status items."""
    objects, items, messages = before
    queue, dlq = ctx.output("UploadsQueueUrl"), ctx.output("DeadLetterQueueUrl")
    deadline = time.monotonic() + 4 * _visibility(ctx) + 15
    while time.monotonic() < deadline and any(m.message_id not in messages for m in ctx.queue_messages(queue)):
        time.sleep(0.5)
    new_bodies = {m.body for m in ctx.queue_messages(dlq) if m.message_id not in messages}
    if new_bodies:
        ctx.remove_messages(dlq, lambda body: body in new_bodies)
    now_objects, now_items, _ = _inventory(ctx)
    for key in now_objects - objects:
        ctx.client("s3").delete_object(Bucket=ctx.output("UploadsBucket"), Key=key)
    for key in now_items - items:
        ctx.client("dynamodb").delete_item(TableName=ctx.output("StatusTable"), Key={"key": {"S": key}})


@step("The lab's flow is deployed: bucket -> queue with a DLQ after 3 receives -> edalab-tested-processor")
def wiring(ctx):
    config = ctx.client("s3").get_bucket_notification_configuration(Bucket=ctx.output("UploadsBucket"))
    attrs = ctx.client("sqs").get_queue_attributes(QueueUrl=ctx.output("UploadsQueueUrl"),
                                                   AttributeNames=["RedrivePolicy"])["Attributes"]
    if not config.get("QueueConfigurations") or json.loads(attrs.get("RedrivePolicy", "{}")).get(
            "maxReceiveCount") not in (3, "3"):
        raise CheckFailed("the flow of stack edalab-10-testing is not as deployed (no notification, or no DLQ "
                          "after 3 receives): `make deploy LAB=10` puts it back")


@step("Your end-to-end test passes against the correct processor", hint=1, needs=[wiring])
def passes_on_correct(ctx):
    mutants = _mutants(ctx)
    mutants.deploy_source(ctx.endpoint, None)  # a check interrupted earlier may have left a mutant
    ctx.before = _inventory(ctx)
    ctx.cleanup(lambda: _remove_what_runs_left(ctx, ctx.before),
                "the files, status items and dead-lettered messages your test's runs left")
    passed, said = _run_test(ctx, "your test against the correct processor")
    if not passed and "write me" in said:
        raise CheckFailed(f"{_test_file(ctx).name} is not written yet: it still fails with \"write me\" "
                          "(README, step 5)", hint=1)
    if not passed:
        raise CheckFailed(f"{_test_file(ctx).name} fails against the correct processor, so it cannot tell a broken "
                          "one from it:\n" + _tail(said), hint=2)


@step("Your test fails against every mutant (a broken processor)", hint=4, needs=[passes_on_correct])
def kills_mutants(ctx):
    mutants = _mutants(ctx)
    correct = mutants.correct_source()
    ctx.cleanup(lambda: mutants.deploy_source(ctx.endpoint, None), "the mutant: the correct processor is back")
    survivors = []
    for n, mutant in enumerate(mutants.MUTANTS, start=1):
        mutants.deploy_source(ctx.endpoint, mutant.source(correct))
        passed, _ = _run_test(ctx, f"your test against mutant {n} of {len(mutants.MUTANTS)}, {mutant.name}")
        if passed:
            survivors.append(mutant)
    if survivors:
        killed = len(mutants.MUTANTS) - len(survivors)
        raise CheckFailed(f"your test killed {killed} of {len(mutants.MUTANTS)} mutants; it passed against these, "
                          "so it would not catch their bug:" + "".join(f"\n  - {m.name}: {m.bug}" for m in survivors)
                          + "\n(each mutant's edit is in labs/10-testing/mutants.py)")

"""The baseline snapshot as a learner meets it: `make up` deploys every lab and saves; a fresh
engine's `make up` restores it; `make reset` restores in place; a lab whose files changed is the
only one redeployed; a corrupt snapshot and FULL=1 take the slow, exact way, saying why.

They run the real make targets against an engine of their own (port and state folder), so they
never touch an engine a learner started. Every lab's check with its solution after a restore is
proven by tests/test_labs.py: the session's `lab_engine` starts from a restore (conftest.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from edalab import aws, baseline, bootstrap, cli, labs, settings
from edalab.bootstrap import stack_outputs
from edalab.engine.host import HostEngine
from edalab.http_call import http
from edalab.mail import read_inbox
from edalab.waiting import wait_for
from support import create_function, free_port, stack_contents
from test_lifecycle import settled_snapshot


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    state = tmp_path_factory.mktemp("baseline")
    env = {**os.environ, "EDALAB_ENGINE": "host", "EDALAB_PORT": str(free_port()), "EDALAB_STATE_DIR": str(state),
           "EDALAB_CONSOLE_PORT": str(free_port())}
    env.pop("EDALAB_ENDPOINT", None)
    env.pop("EDALAB_MAIL_DIR", None)  # the session engine's inbox is not this engine's
    yield env
    make(env, "down")


DEPLOYED: dict = {}  # the full inventory after `make up` deployed every lab, which every later test compares with


def make(env: dict, target: str, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(["make", "--no-print-directory", target, *args], cwd=settings.REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def engine_of(env: dict) -> HostEngine:
    return HostEngine(Path(env["EDALAB_STATE_DIR"]), int(env["EDALAB_PORT"]))


def full_inventory(endpoint: str) -> dict:
    """Every resource by name (`edalab.inventory`), and per lab stack its resources, outputs, table
    keys, object versions and queue depths: two equal results are the same environment."""
    cfn = aws.client("cloudformation", endpoint)
    found = {"engine": settled_snapshot(endpoint)}
    for lab in labs.all_labs():
        resources = cfn.describe_stack_resources(StackName=lab.stack.name)["StackResources"]
        found[lab.stack.name] = {
            "resources": sorted((r["LogicalResourceId"], r["PhysicalResourceId"], r["ResourceStatus"])
                                for r in resources),
            "outputs": stack_outputs(lab.stack.name, endpoint),
            "contents": stack_contents(endpoint, lab.stack.name),
        }
    return found


def differences(expected, found, path: str = "") -> list[str]:
    """Where two inventories differ, leaf by leaf (for a failure message that names them)."""
    if isinstance(expected, dict) and isinstance(found, dict):
        return [line for key in sorted(set(expected) | set(found), key=str)
                for line in differences(expected.get(key), found.get(key), f"{path}/{key}")]
    return [] if expected == found else [f"{path}: {expected!r} != {found!r}"]


def by_name(inventory: dict) -> dict:
    """What two deploys of the same files share: every resource by name, each stack's resources
    by logical id and status, its item counts, object keys and queue depths. A new deploy names
    some things anew (API ids, permission suffixes, mapping UUIDs, object versions, the ids of the
    items its test events leave);
    a restore must give the exact inventory instead."""
    def unversioned(contents: dict) -> dict:
        named = {"bucket": lambda keys: [key.rsplit("@", 1)[0] for key in keys], "table": len}
        return {what: named.get(what.split(" ", 1)[0], lambda same: same)(found) for what, found in contents.items()}

    return {name: found if name == "engine" else
            {"resources": sorted((logical, status) for logical, _, status in found["resources"]),
             "contents": unversioned(found["contents"])}
            for name, found in inventory.items()}


def assert_same(expected: dict, found: dict) -> None:
    assert not (diff := differences(expected, found)), "\n".join(diff[:20])


def make_a_mess(endpoint: str) -> None:
    """What a learner makes after `make up`: in every lab's stack an object in each bucket, an
    item in each table and a message in each queue (those with a consumer set functions to work,
    so the reset meets processes and in-flight messages too); and one new thing of each kind the
    reset must clear: queue, topic, bucket, rule with a schedule, alarm, log group, email."""
    cfn, sqs, s3, ddb, sns, events, cw, logs = (
        aws.client(s, endpoint) for s in ("cloudformation", "sqs", "s3", "dynamodb", "sns", "events", "cloudwatch", "logs"))
    for lab in labs.all_labs():
        for resource in cfn.describe_stack_resources(StackName=lab.stack.name)["StackResources"]:
            kind, name = resource["ResourceType"], resource["PhysicalResourceId"]
            if kind == "AWS::S3::Bucket":
                s3.put_object(Bucket=name, Key="learner/by-hand.json", Body=b"{}")
            elif kind == "AWS::SQS::Queue":
                fifo = {"MessageGroupId": "learner", "MessageDeduplicationId": "learner"} if name.endswith(".fifo") else {}
                sqs.send_message(QueueUrl=name, MessageBody='{"by": "hand"}', **fifo)
            elif kind == "AWS::DynamoDB::Table":
                table = ddb.describe_table(TableName=name)["Table"]
                types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
                ddb.put_item(TableName=name, Item={key["AttributeName"]: {types[key["AttributeName"]]: "1"}
                                                   for key in table["KeySchema"]})
    sqs.create_queue(QueueName="learner-extra")
    s3.create_bucket(Bucket="learner-bucket")
    events.put_rule(Name="learner-rule", ScheduleExpression="rate(1 minute)")
    cw.put_metric_alarm(AlarmName="learner-alarm", MetricName="M", Namespace="Learner", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    logs.create_log_group(logGroupName="/learner/by-hand")
    topic = sns.create_topic(Name="learner-mail")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="learner@edalab.local")
    sns.publish(TopicArn=topic, Subject="by hand", Message="an email the reset must remove")


def test_make_up_saves_the_baseline_and_a_fresh_engine_restores_it(env):
    first = make(env, "up")
    assert "Not restoring the baseline snapshot: the restore failed: no snapshot in" in first.stdout, first.stdout
    assert "edalab-00-welcome: created" in first.stdout
    assert "saved the baseline snapshot" in first.stdout
    deployed = full_inventory(engine_of(env).endpoint)

    make(env, "down")
    again = make(env, "up")
    assert "Restored the baseline snapshot" in again.stdout, again.stdout
    assert "created" not in again.stdout and "Deploying" not in again.stdout  # nothing went through CloudFormation
    assert_same(deployed, full_inventory(engine_of(env).endpoint))
    DEPLOYED.update(deployed)


def test_make_reset_restores_in_place_and_clears_what_a_learner_made(env, monkeypatch):
    engine = engine_of(env)
    pid = engine.pid()
    monkeypatch.setenv("EDALAB_MAIL_DIR", str(engine.state / "mail"))
    make_a_mess(engine.endpoint)
    wait_for(lambda: [m for m in read_inbox(engine.endpoint) if m.subject == "by hand"], what="the learner's email")
    assert differences(DEPLOYED, full_inventory(engine.endpoint))

    result = make(env, "reset")
    assert "snapshot restored in place" in result.stdout, result.stdout
    assert engine.pid() == pid  # in place: the same engine process
    assert_same(DEPLOYED, full_inventory(engine.endpoint))
    assert [m.subject for m in read_inbox(engine.endpoint)] == []
    rules = aws.client("events", engine.endpoint).list_rules(NamePrefix="learner")["Rules"]
    assert rules == []


def test_only_the_lab_whose_files_changed_is_redeployed(env):
    engine = engine_of(env)
    description = engine.state / "baseline" / "snapshot.json"
    saved = json.loads(description.read_text())
    saved["labs"]["02-s3-sqs-lambda"] = "a key from other files"  # as if its handler had changed since
    description.write_text(json.dumps(saved))

    result = make(env, "reset")
    assert "edalab-02-s3-sqs-lambda: its files changed since the baseline was saved: deploying" in result.stdout
    redeployed = [line for line in result.stdout.splitlines() if "files changed since" in line]
    assert len(redeployed) == 1, result.stdout
    assert "1 changed lab(s) redeployed" in result.stdout
    assert json.loads(description.read_text())["labs"]["02-s3-sqs-lambda"] == baseline.lab_key(labs.find("02"))
    assert_same(DEPLOYED, full_inventory(engine.endpoint))


def test_a_draft_template_fails_only_its_lab_after_the_restore(env, tmp_path, monkeypatch, capsys):
    """A learner's template that does not parse counts as changed: `make reset` restores, then
    that lab's deploy fails with a message naming it (exit 1), never a traceback."""
    engine = engine_of(env)
    copy_the_repository(tmp_path, monkeypatch)
    template = tmp_path / "labs" / "03-routing" / "template.yaml"
    template.write_text(template.read_text() + "\nOutputs: [not closed\n")
    for name in ("EDALAB_STATE_DIR", "EDALAB_PORT"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("EDALAB_ENDPOINT", raising=False)
    aws.client("sqs", engine.endpoint).create_queue(QueueName="learner-draft")

    assert cli.cmd_reset(argparse.Namespace(full=False)) == 1
    said = capsys.readouterr().out
    assert "The baseline snapshot was restored, but a lab whose files changed did not deploy" in said, said
    assert "edalab-03-routing: labs/03-routing/template.yaml cannot be read as YAML" in said, said
    assert "Traceback" not in said
    queues = aws.client("sqs", engine.endpoint).list_queues().get("QueueUrls", [])
    assert not [url for url in queues if url.endswith("/learner-draft")]  # the restore happened first

    template.write_text("")
    assert baseline.lab_keys(labs.all_labs())["03-routing"]  # keyed by its bytes, no exception
    with pytest.raises(bootstrap.DeployError, match="edalab-03-routing: labs/03-routing/template.yaml is empty"):
        labs.find("03").stack.handler_parameters()


def test_a_corrupt_snapshot_is_refused_untouched_and_reset_falls_back_saying_why(env):
    engine = engine_of(env)
    (engine.state / "baseline" / "services" / "sqs" / "state.pickle").write_bytes(b"not a pickle")
    aws.client("sqs", engine.endpoint).create_queue(QueueName="learner-kept")

    refused = http("POST", engine.endpoint + baseline.RESTORE_PATH, {})
    assert refused.status == 409 and "cannot be read" in refused.body["message"]
    assert any(url.endswith("/learner-kept")  # refused before anything changed
               for url in aws.client("sqs", engine.endpoint).list_queues()["QueueUrls"])

    result = make(env, "reset")
    assert "Resetting the slow, exact way" in result.stdout and "cannot be read" in result.stdout, result.stdout
    assert "saved the baseline snapshot" in result.stdout
    assert_same(by_name(DEPLOYED), by_name(full_inventory(engine.endpoint)))  # deployed anew
    assert "snapshot restored in place" in make(env, "reset").stdout  # the new snapshot restores


def test_a_restore_failing_part_way_leaves_the_engine_empty_and_working(env):
    """The snapshot's SNS part no longer fits (loaded after S3, IAM and SQS): the restore answers
    500 saying the engine was emptied, and it is: no stack, no queue, and it serves requests."""
    from localstack.state import pickle as state_pickle

    engine = engine_of(env)
    assert "snapshot restored in place" in make(env, "reset").stdout
    restored = full_inventory(engine.endpoint)  # the snapshot as it is now (the test before saved it anew)
    folder = engine.state / "baseline"
    shutil.copytree(folder, engine.state / "baseline.whole")
    try:
        with open(folder / "services" / "sns" / "state.pickle", "wb") as out:
            state_pickle.dump([], out)
        failed = http("POST", engine.endpoint + baseline.RESTORE_PATH, {})
        assert failed.status == 500 and "the engine was emptied" in failed.body["message"], failed.body
        assert aws.client("cloudformation", engine.endpoint).list_stacks()["StackSummaries"] == []
        sqs = aws.client("sqs", engine.endpoint)
        assert sqs.list_queues().get("QueueUrls", []) == []
        sqs.create_queue(QueueName="learner-after-failure")  # the engine still works
    finally:
        shutil.rmtree(folder)
        (engine.state / "baseline.whole").rename(folder)
    assert "snapshot restored in place" in make(env, "reset").stdout
    assert_same(restored, full_inventory(engine.endpoint))  # the whole snapshot restores exactly again


def test_full_reset_takes_the_slow_exact_way(env):
    engine = engine_of(env)
    pid = engine.pid()
    result = make(env, "reset", "FULL=1")
    assert "Resetting the slow, exact way (restart, redeploy every lab): FULL=1 asks for it" in result.stdout
    assert engine.pid() != pid
    assert_same(by_name(DEPLOYED), by_name(full_inventory(engine.endpoint)))  # deployed anew


def test_the_routes_refuse_what_they_cannot_do_with_the_reason(env):
    engine = engine_of(env)
    save, restore = engine.endpoint + baseline.SAVE_PATH, engine.endpoint + baseline.RESTORE_PATH
    wrong_method = http("PUT", save, {})
    assert wrong_method.status == 405 and "POST /_edalab/snapshot saves" in wrong_method.body["message"]
    assert http("GET", restore).status == 405
    not_an_object = http("POST", save, [1])
    assert not_an_object.status == 400 and "send a JSON object" in not_an_object.body["message"]
    (engine.state / "baseline").rename(engine.state / "baseline.aside")
    try:
        for method, url in (("GET", save), ("POST", restore)):
            missing = http(method, url, {} if method == "POST" else None)
            assert missing.status == 404 and "no snapshot in" in missing.body["message"], (method, missing.body)
    finally:
        (engine.state / "baseline.aside").rename(engine.state / "baseline")


def test_a_save_first_waits_for_consumed_queues_and_names_one_whose_function_keeps_failing(env):
    """What a deploy leaves on a queue a function consumes is consumed before the state is saved
    (else every reset would hand it to the function again); a queue whose function keeps failing
    cannot empty, and is named instead of holding the save up for ever."""
    endpoint = engine_of(env).endpoint
    sqs, lam = aws.client("sqs", endpoint), aws.client("lambda", endpoint)
    urls = {name: sqs.create_queue(QueueName=f"settle-{name}")["QueueUrl"] for name in ("eaten", "stuck", "out")}
    functions, made = [], []
    try:
        for name, variables in (("eaten", {"OUTPUT_QUEUE_URL": urls["out"]}), ("stuck", {})):  # no output: it fails
            functions.append(f"settle-{name}")
            create_function(lam, f"settle-{name}", "probe.py", env=variables)
            arn = sqs.get_queue_attributes(QueueUrl=urls[name], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            made.append(lam.create_event_source_mapping(FunctionName=f"settle-{name}", EventSourceArn=arn,
                                                        BatchSize=1)["UUID"])
        for uuid in made:
            wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"], what="the mapping enabled",
                     until=lambda state: state == "Enabled")

        sqs.send_message(QueueUrl=urls["eaten"], MessageBody="left by a deploy")
        assert baseline.consumed_queues_unsettled(endpoint, timeout=60) == []  # it waited for the consumer
        assert int(sqs.get_queue_attributes(QueueUrl=urls["out"], AttributeNames=["ApproximateNumberOfMessages"])
                   ["Attributes"]["ApproximateNumberOfMessages"]) == 1  # consumed by its function, not lost

        sqs.send_message(QueueUrl=urls["stuck"], MessageBody="its function fails on it")
        assert baseline.consumed_queues_unsettled(endpoint, timeout=3) == ["settle-stuck"]

        lam.update_event_source_mapping(UUID=made[1], Enabled=False)  # a paused consumer is not waited for
        wait_for(lambda: lam.get_event_source_mapping(UUID=made[1])["State"], what="the mapping disabled",
                 until=lambda state: state == "Disabled")
        assert baseline.consumed_queues_unsettled(endpoint, timeout=3) == []
    finally:
        for uuid in made:
            lam.delete_event_source_mapping(UUID=uuid)
        for function in functions:
            lam.delete_function(FunctionName=function)
        for url in urls.values():
            sqs.delete_queue(QueueUrl=url)


def test_a_save_on_an_engine_that_does_not_answer_says_so_at_once():
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(baseline.BaselineUnavailable, match="the engine did not list its queues"):
        baseline.consumed_queues_unsettled(endpoint)


def test_an_engine_without_the_snapshot_routes_is_refused_with_the_reason(tmp_path):
    """Stock LocalStack answers our POSTs with 200 and an empty body: that is no save nor restore.
    `make up` deploys every lab, says why nothing was restored or saved, and ends well."""
    stock = {**os.environ, "EDALAB_ENGINE": "host", "EDALAB_PORT": str(free_port()), "EDALAB_STATE_DIR": str(tmp_path),
             "EDALAB_CONSOLE_PORT": str(free_port()), "EDALAB_STOCK_SERVICES": "snapshot"}
    stock.pop("EDALAB_ENDPOINT", None)
    stock.pop("EDALAB_MAIL_DIR", None)
    endpoint = engine_of(stock).endpoint
    try:
        up = make(stock, "up")  # exit 0
        assert ("Not restoring the baseline snapshot: the restore failed: the engine does not serve /_edalab/restore "
                "(it answered HTTP 200 with an empty body)") in up.stdout, up.stdout
        assert "the baseline was not saved: the engine does not serve /_edalab/snapshot" in up.stdout, up.stdout
        assert "Traceback" not in up.stdout + up.stderr
        with pytest.raises(baseline.BaselineUnavailable, match="does not serve /_edalab/restore") as refused:
            baseline.restore(endpoint, labs.all_labs())
        assert not refused.value.engine_touched
    finally:
        make(stock, "down")
    with pytest.raises(baseline.BaselineUnavailable, match="did not answer POST /_edalab/restore") as unreachable:
        baseline.restore(endpoint, labs.all_labs())  # nothing listens: a reason, not a traceback
    assert not unreachable.value.engine_touched


def copy_the_repository(tmp_path: Path, monkeypatch) -> None:
    """The labs, handlers and edalab/ copied to `tmp_path`, which the keys and deploys then read."""
    for part in ("labs", "handlers", "edalab"):
        shutil.copytree(settings.REPO_ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(settings, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(labs, "LABS_DIR", tmp_path / "labs")


def test_a_changed_handler_changes_only_its_labs_key(tmp_path, monkeypatch):
    copy_the_repository(tmp_path, monkeypatch)
    found = labs.all_labs()
    before, engine_before = baseline.lab_keys(found), baseline.engine_key()

    handler = tmp_path / "handlers" / "upload_processor" / "app.py"  # lab 02's exercise
    handler.write_text(handler.read_text() + "\n# the learner's edit\n")
    after = baseline.lab_keys(found)
    assert {name for name in before if before[name] != after[name]} == {"02-s3-sqs-lambda"}

    (tmp_path / "labs" / "03-routing" / "README.md").write_text("read by no deploy")
    assert baseline.lab_keys(found) == after
    assert baseline.lab_keys(found, {"edalab-05-fifo-ordering": {"Delay": "1"}})["05-fifo-ordering"] != after["05-fifo-ordering"]
    assert baseline.engine_key() == engine_before
    (tmp_path / "edalab" / "plugins" / "events" / "archive_resource.py").write_text("# another resource type\n")
    changed_resource_type = baseline.engine_key()
    (tmp_path / "edalab" / "plugins" / "snapshot" / "containers.py").write_text("# other snapshot code\n")
    changed_snapshot_code = baseline.engine_key()
    (tmp_path / "edalab" / "console" / "__init__.py").write_text("# a workshop fix pulled\n")
    assert len({engine_before, changed_resource_type, changed_snapshot_code, baseline.engine_key()}) == 4
    assert baseline._digest([tmp_path / "edalab" / "vanished.py"]) == baseline._digest([])  # absent, no error

    (tmp_path / "labs" / "03-routing" / "template.yaml").write_text("Resources: [not closed\n")  # a draft
    drafted = baseline.lab_keys(found)
    assert {name for name in after if after[name] != drafted[name]} == {"03-routing"}

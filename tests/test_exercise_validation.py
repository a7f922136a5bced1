"""Bad exercise files at deploy: a filter policy, event pattern or redrive policy that AWS would
refuse is refused before it is applied, with reasons a beginner can act on, a non-zero exit from
`python -m edalab deploy`, and never a traceback; `make up`/`make reset` (deploy_all) warn and
carry on. The grammar checks run without an engine and are held to LocalStack's own SNS
validator on every example; the rest runs the real CLI in a copy of the repository, so the
lab's own exercise files are never touched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from localstack.services.sns.filter import FilterPolicyValidator
from rich.console import Console

from edalab import bootstrap, labs, settings
from edalab.exercise_validation import (ExerciseRejected, event_pattern_problems, filter_policy_problems, read,
                                        redrive_policy_problems)
from support import FAST_PARAMETERS

LAB03_EXERCISE = Path("labs/03-routing/exercise")
LAB04_EXERCISE = Path("labs/04-dead-letter-queues/exercise")
POLICY, PATTERN = LAB03_EXERCISE / "priority-filter-policy.json", LAB03_EXERCISE / "vip-event-pattern.json"
REDRIVE = LAB04_EXERCISE / "redrive-policy.json"
SOLUTION03 = labs.find("03").solution_dir

# Policies from AWS's SNS docs (string, numeric, key matching, $or, payload nesting) and the lab's own
VALID_POLICIES = [
    {"customer_interests": ["rugby", "tennis"]},
    {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]},
    {"customer_interests": [{"anything-but": "rugby"}]},
    {"customer_interests": [{"anything-but": {"prefix": "bas"}}]},
    {"customer_interests": [{"prefix": "bas"}]},
    {"customer_interests": [{"suffix": "ball"}]},
    {"customer_interests": [{"equals-ignore-case": "tennis"}]},
    {"price_usd": [{"numeric": ["=", 301.5]}]},
    {"price": [{"anything-but": [100, 500]}]},
    {"price_usd": [{"numeric": ["<", 0]}]},
    {"price_usd": [{"numeric": [">", 0, "<=", 150]}]},
    {"store": [{"exists": True}]},
    {"store": [{"exists": False}], "event": [{"anything-but": "order_cancelled"}]},
    {"source_ip": [{"cidr": "10.0.0.0/24"}]},
    {"flag": [True, None, "maybe", 3]},
    {"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]},
    {"state": ["SUCCESS"], "severity": [{"exists": True}], "message": [{"exists": True}],
     "finding": {"standard_control": [{"exists": True}], "region": [{"exists": True}], "account": [{"exists": True}]}},
    {"key_a": {"key_b": {"key_c": ["one", "two", "three", "four"]}}, "key_d": {"key_e": ["one", "two", "three"]}},
    {"total": [{"numeric": [">=", 100]}]},
]

# (policy, words the reason must hold), every one refused by LocalStack's validator too
INVALID_POLICIES = [
    ({"total": [{"numeric": ">= 100"}]}, ['"total": {"numeric": ">= 100"}', 'numeric takes a list like [">=", 100]']),
    ({"total": ">=100"}, ['"total": ">=100"', 'a key takes a list', '"total": [{"numeric": [">=", 100]}]']),
    ({"country": "DE"}, ['"country": ["DE"]']),
    ({"total": [{"numeric": [">=", "100"]}]}, ['the number goes without quotes: "100" should be 100']),
    ({"total": [{">=": 100}]}, ['a comparison goes inside numeric: {"numeric": [">=", 100]}']),
    ({"total": [{"numeric": [">", 10, "<=", 5]}]}, ["bottom (10) must be less than its top (5)"]),
    ({"total": [{"numeric": ["<", 0, ">=", 5]}]}, ["a range starts with > or >="]),
    ({"total": [{"numeric": ["=>", 5]}]}, ['"=>" is not a numeric operator']),
    ({"total": [{"numeric": [">", 1, "<", 5, "<", 6]}]}, ["an operator and a number"]),
    ({"total": [{"numeric": []}]}, ["an operator and a number"]),
    ({f"k{n}": ["v"] for n in range(6)}, ["6 keys at the top", "at most 5"]),
    ({"k": list(range(151))}, ["151 combinations", "at most 150"]),
    ({"a": {"b": list(range(40))}, "c": list(range(2))}, ["160 combinations"]),
    ({"customer": {"tier": ["gold", {"prefix": 3}]}}, ['"customer": {"tier": {"prefix": 3}}', "prefix takes a string"]),
    ({"ip": [{"cidr": "10.0.0.1/24"}]}, ["not an address range"]),
    ({"ip": [{"cidr": "10.0.0.0"}]}, ['like {"cidr": "10.0.0.0/24"}']),
    ({"x": [{"anything-but": {"suffix": "a"}}]}, ['anything-but takes a value, a list of values, or {"prefix"']),
    ({"x": [{"exists": "true"}]}, ["exists takes true or false without quotes"]),
    ({"x": [{"Prefix": "a"}]}, ['"Prefix" is not a filter policy operator']),
    ({"x": []}, ["the list of what to match is empty"]),
    ({"x": [["a"]]}, ["a list inside the list"]),
    ({"x": [{"prefix": "a", "suffix": "b"}]}, ["exactly one operator"]),
    ({"$or": "a"}, ["$or takes a list of objects"]),
    ([{"total": [100]}], ["a filter policy is a JSON object", "this one is a list"]),
]


@pytest.mark.parametrize("policy", VALID_POLICIES, ids=lambda p: json.dumps(p)[:60])
def test_a_documented_filter_policy_passes_as_it_does_in_the_engine(policy):
    assert filter_policy_problems(policy) == []
    FilterPolicyValidator("MessageBody", is_subscribe_call=False).validate_filter_policy(policy)


@pytest.mark.parametrize(("policy", "words"), INVALID_POLICIES, ids=lambda p: json.dumps(p)[:60])
def test_an_invalid_filter_policy_gets_a_reason_in_plain_words(policy, words):
    problems = filter_policy_problems(policy)
    assert len(problems) == 1, problems
    for word in words:
        assert word in problems[0]
    # the engine refuses it too: with a message, or (for the first case) by crashing
    with pytest.raises(Exception):
        FilterPolicyValidator("MessageBody", is_subscribe_call=False).validate_filter_policy(policy)


def test_filter_policy_rules_aws_documents_and_the_engine_does_not_check():
    """Numbers in `numeric` run from -10^9 to 10^9 on AWS; LocalStack accepts any."""
    out_of_range = {"total": [{"numeric": [">=", 5_000_000_000]}]}
    assert "out of range" in filter_policy_problems(out_of_range)[0]


def test_every_problem_of_a_policy_is_reported_not_only_the_first():
    policy = {"total": [{"numeric": ">= 100"}], "tier": "gold", "country": [{"prefix": 1}]}
    problems = filter_policy_problems(policy)
    assert [p.split(":", 1)[0] for p in problems] == ['"total"', '"tier"', '"country"']


def test_nested_keys_need_the_message_body_scope():
    nested = {"customer": {"tier": ["gold"]}}
    assert filter_policy_problems(nested, scope="MessageBody") == []
    assert "nested keys need FilterPolicyScope MessageBody" in filter_policy_problems(nested, "MessageAttributes")[0]


def test_reading_an_exercise_file(tmp_path):
    todo, broken, done = tmp_path / "todo.json", tmp_path / "broken.json", tmp_path / "done.json"
    todo.write_text('{"TODO": "replace this"}')
    broken.write_text('{\n  "tier": [gold]\n}\n')
    done.write_text('{"tier": ["gold"]}')
    assert read(todo) == (None, [])
    doc, problems = read(broken)
    assert doc is None and "not valid JSON" in problems[0] and '`"tier": [gold]`' in problems[0]
    assert read(done) == ({"tier": ["gold"]}, [])
    assert "cannot be read" in read(tmp_path / "missing.json")[1][0]


@pytest.mark.parametrize(("policy", "words"), [
    ({"deadLetterTargetArn": "", "maxReceiveCount": 3}, ['"deadLetterTargetArn": ""', "the dead-letter queue's ARN"]),
    ({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq", "maxReceiveCount": 0}, ["from 1 to 1000"]),
    ({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq", "maxReceiveCount": "three"}, ["from 1 to 1000"]),
    ({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq", "maxReceiveCount": True}, ["from 1 to 1000"]),
    ({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq", "maxRecieveCount": 3},
     ['"maxReceiveCount" is missing']),
    (["arn:aws:sqs:us-east-1:000000000000:dlq", 3], ["a redrive policy is a JSON object"]),
])
def test_an_invalid_redrive_policy_gets_a_reason(policy, words):
    problems = redrive_policy_problems(policy)
    assert len(problems) == 1, problems
    for word in words:
        assert word in problems[0]


def test_a_redrive_policy_as_aws_writes_it_passes():
    arn = "arn:aws:sqs:us-east-1:000000000000:edalab-orders-dlq"
    assert redrive_policy_problems({"deadLetterTargetArn": arn, "maxReceiveCount": 3}) == []
    assert redrive_policy_problems({"deadLetterTargetArn": arn, "maxReceiveCount": "5"}) == []  # AWS's examples


def test_a_rejection_is_a_deploy_error_whose_text_survives_the_cli_markup():
    rejected = ExerciseRejected("03", ['vip-event-pattern.json: not valid JSON, at `"tier": [gold]`'])
    assert isinstance(rejected, bootstrap.DeployError)
    assert rejected.reasons == ['vip-event-pattern.json: not valid JSON, at `"tier": [gold]`']
    assert "`make deploy LAB=03`" in str(rejected)
    console = Console(record=True, width=200)
    console.print(str(rejected), style="red", markup=False)  # as the CLI prints it: a learner's [gold] stays text
    assert '`"tier": [gold]`' in console.export_text()


def test_the_engine_refuses_an_event_pattern_aws_refuses(lab_engine):
    post_deploy = labs.find("03").load_module("post_deploy.py")
    events = lab_engine.client("events")
    problems = event_pattern_problems(events, {"detail": {"total": ">=500"}}, post_deploy.SAMPLE_EVENT)
    assert len(problems) == 1 and '"total" must be an object or an array' in problems[0]
    assert "every value to match goes in a list" in problems[0]
    assert "Unrecognized match type" in event_pattern_problems(events, {"detail": {"tier": [{"bogus": 1}]}},
                                                               post_deploy.SAMPLE_EVENT)[0]
    assert "is a list" in event_pattern_problems(events, [{"source": ["x"]}], post_deploy.SAMPLE_EVENT)[0]
    solution = json.loads((SOLUTION03 / PATTERN).read_text())
    assert event_pattern_problems(events, solution, post_deploy.SAMPLE_EVENT) == []


def _repository_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(settings.REPO_ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".edalab", ".git", "__pycache__"))
    return copy


def _deploy(copy: Path, endpoint: str, state: Path, lab: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(copy), "EDALAB_ENDPOINT": endpoint, "EDALAB_STATE_DIR": str(state)}
    return subprocess.run([sys.executable, "-m", "edalab", "deploy", lab], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=180)


def test_deploy_refuses_bad_lab03_files_with_reasons_and_exit_1_and_applies_good_ones(lab_engine, tmp_path):
    copy, state = _repository_copy(tmp_path), tmp_path / "state"
    out = bootstrap.stack_outputs("edalab-03-routing", lab_engine.endpoint)
    sns, events = lab_engine.client("sns"), lab_engine.client("events")

    def applied():
        policy = sns.get_subscription_attributes(SubscriptionArn=out["PrioritySubscriptionArn"])["Attributes"]
        rule = events.describe_rule(Name="edalab-shop-vip", EventBusName=out["BusName"])
        return json.loads(policy.get("FilterPolicy") or "null"), json.loads(rule["EventPattern"])

    for rel in (POLICY, PATTERN):  # the reference solution is valid: applied, exit 0
        shutil.copy2(SOLUTION03 / rel, copy / rel)
    done = _deploy(copy, lab_engine.endpoint, state, "03")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "priority-filter-policy.json applied" in done.stdout and "vip-event-pattern.json applied" in done.stdout
    good = applied()
    assert good == (json.loads((SOLUTION03 / POLICY).read_text()), json.loads((SOLUTION03 / PATTERN).read_text()))

    # well-formed JSON that SNS and EventBridge refuse (the engine's SNS crashes on the policy)
    (copy / POLICY).write_text('{"total": [{"numeric": ">= 100"}]}')
    (copy / PATTERN).write_text('{"detail": {"total": ">=500"}}')
    refused = _deploy(copy, lab_engine.endpoint, state, "03")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
    assert 'priority-filter-policy.json: "total": {"numeric": ">= 100"} — numeric takes a list like [">=", 100]' \
        in refused.stdout
    assert 'vip-event-pattern.json: the engine refused it: "total" must be an object or an array' in refused.stdout
    assert "applied" not in refused.stdout.replace("not applied", "")
    assert applied() == good  # neither file was applied

    (copy / PATTERN).write_text('{"detail": {"customer": {"tier": [gold]}}}')  # not JSON
    (copy / POLICY).write_text((SOLUTION03 / POLICY).read_text())  # valid, but not applied alone
    broken = _deploy(copy, lab_engine.endpoint, state, "03")
    assert broken.returncode == 1 and "Traceback" not in broken.stdout + broken.stderr
    assert 'vip-event-pattern.json: not valid JSON' in broken.stdout and '[gold]' in broken.stdout
    assert applied() == good

    for rel in (POLICY, PATTERN):  # the pristine exercise still deploys: nothing to apply, exit 0
        shutil.copy2(settings.REPO_ROOT / rel, copy / rel)
    pristine = _deploy(copy, lab_engine.endpoint, state, "03")
    assert pristine.returncode == 0, pristine.stdout + pristine.stderr
    assert "priority-filter-policy.json is still the exercise's TODO; not applied" in pristine.stdout
    assert applied() == (None, labs.find("03").load_module("post_deploy.py").PLACEHOLDER_PATTERN)


def test_lab04_refuses_a_bad_redrive_policy_and_leaves_the_queue_as_it_was(lab_engine, tmp_path):
    """The post-deploy step itself (the CLI turns its ExerciseRejected into exit 1, as for lab 03):
    `deploy 04` from the CLI would also redeploy the stack without the tests' fast parameters."""
    lab = labs.find("04")
    post_deploy = lab.load_module("post_deploy.py")
    out = bootstrap.stack_outputs(lab.stack.name, lab_engine.endpoint)
    sqs = lab_engine.client("sqs")

    def redrive():
        attributes = sqs.get_queue_attributes(QueueUrl=out["OrdersQueueUrl"], AttributeNames=["RedrivePolicy"])
        return attributes.get("Attributes", {}).get("RedrivePolicy")

    before, said = redrive(), []
    (tmp_path / LAB04_EXERCISE).mkdir(parents=True)
    dlq = out["DeadLetterQueueArn"]
    for text, words in [
        ('{"deadLetterTargetArn": "", "maxReceiveCount": 3,}', "not valid JSON"),
        (json.dumps({"deadLetterTargetArn": dlq, "maxReceiveCount": "three"}), "a whole number from 1 to 1000"),
        (json.dumps({"deadLetterTargetArn": dlq + "-typo", "maxReceiveCount": 3}), "names no queue"),
    ]:
        (tmp_path / REDRIVE).write_text(text)
        with pytest.raises(ExerciseRejected) as rejected:
            post_deploy.apply(lab_engine.endpoint, tmp_path, said.append)
        assert len(rejected.value.reasons) == 1 and words in rejected.value.reasons[0]
        assert rejected.value.reasons[0].startswith("redrive-policy.json: ")
        assert redrive() == before
    assert said == []


def test_deploy_all_warns_about_a_refused_lab_and_carries_on(lab_engine, tmp_path, monkeypatch):
    """`make up`/`make reset` deploy every lab: one learner's bad file must not stop the rest."""
    for rel in (POLICY, PATTERN, REDRIVE):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(settings.REPO_ROOT / rel, tmp_path / rel)
    (tmp_path / POLICY).write_text('{"total": [{"numeric": ">= 100"}]}')
    shutil.copytree(settings.REPO_ROOT / "handlers", tmp_path / "handlers", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(settings, "REPO_ROOT", tmp_path)  # the learner's files (handlers, exercise): this copy
    said: list[tuple[str, str]] = []
    found = [labs.find("03"), labs.find("04")]
    labs.deploy_all(lab_engine.endpoint, progress=lambda name, text: said.append((name, text)),
                    parameters=FAST_PARAMETERS, found=found)
    post_deploy_lines = [(name, text) for name, text in said if text not in ("created", "updated", "unchanged")]
    assert [name for name, _ in post_deploy_lines] == ["edalab-03-routing", "edalab-04-dead-letter-queues"]
    warning = post_deploy_lines[0][1]
    assert warning.startswith("WARNING: Your exercise was not applied") and "numeric takes a list" in warning
    assert "redrive-policy.json still holds the exercise's TODO" in post_deploy_lines[1][1]

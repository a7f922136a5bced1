"""Lab 00's check against what a learner does: the README's commands pass it even after the
learner has received the news queue's message (hiding it for 30 s), and near misses, the
commands with one rule broken, fail it at the step that proves that rule.

Lab 00's "solution" is commands, not code: what they leave is the recorder's table. Each test
starts from an empty table (as after `make up`) and leaves it empty, as a learner who has
done nothing yet, which is what test_labs' pristine run of lab 00 expects.
"""

from __future__ import annotations

import shutil

import pytest

from edalab import bootstrap, labs
from edalab.check_run import run_check
from edalab.labs import Lab
from edalab.loop import run_solution_script
from support import edit_file, empty_welcome_recorder

SCRIPT = "solution/apply.sh"


@pytest.fixture
def fresh_lab(lab_engine):
    lab = labs.find("00")
    empty_welcome_recorder(lab_engine.endpoint)
    yield lab
    empty_welcome_recorder(lab_engine.endpoint)


def run_commands(lab: Lab, endpoint: str, folder, edits: list[tuple[str, str]]) -> None:
    """Runs the lab's solution commands with `edits` applied, from a copy under `folder`."""
    copy = folder / lab.folder.name
    shutil.copytree(lab.folder, copy)
    edit_file(copy / SCRIPT, edits)
    run_solution_script(Lab(copy, lab.title, lab.goal), endpoint)


def test_the_check_passes_after_the_learner_received_the_news_message(lab_engine, fresh_lab, tmp_path):
    run_commands(fresh_lab, lab_engine.endpoint, tmp_path, [])
    outputs = bootstrap.stack_outputs(fresh_lab.stack.name, lab_engine.endpoint)
    sqs = lab_engine.client("sqs")
    received = sqs.receive_message(QueueUrl=outputs["NewsQueueUrl"], MaxNumberOfMessages=10, WaitTimeSeconds=2,
                                   VisibilityTimeout=30)  # the README's receive-message: hidden for 30 s
    assert received.get("Messages"), "the news queue should hold the published message"
    report = run_check(fresh_lab, lab_engine.endpoint)
    assert report.passed, report.first_failure


NEAR_MISSES = {
    "a message without hello": ([('--message-body "hello from the welcome lab"', '--message-body "hi there"')],
                                "You sent a message containing 'hello'", "contains the word hello", 2),
    "a notification without kind=welcome": (
        [(" \\\n  --message-attributes '{\"kind\": {\"DataType\": \"String\", \"StringValue\": \"welcome\"}}'", "")],
        "You published to edalab-welcome-news", "you published 1, with the attributes {}", 3),
    "a notification with kind=news": ([('"StringValue": "welcome"', '"StringValue": "news"')],
                                      "You published to edalab-welcome-news", '{"kind": "news"}', 3),
    "an API call without an id": ([("-d '{\"id\": \"hello\"}'", "-d '{\"name\": \"hello\"}'")],
                                  "You called the API", "a JSON body that has a string \"id\"", 4),
}


@pytest.mark.parametrize("name", NEAR_MISSES)
def test_the_check_fails_each_near_miss_at_the_step_that_proves_its_rule(lab_engine, fresh_lab, tmp_path, name):
    edits, step_title, said, hint = NEAR_MISSES[name]
    run_commands(fresh_lab, lab_engine.endpoint, tmp_path, edits)
    report = run_check(fresh_lab, lab_engine.endpoint)
    failure = report.first_failure
    assert failure is not None, f"the check passed commands with {name}"
    assert failure.title.startswith(step_title), failure
    assert said in failure.message, failure.message
    assert failure.hint == hint, failure

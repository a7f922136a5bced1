"""Every lab both ways, so labs cannot rot: `make check` fails on the pristine exercise with a
message naming what is missing, and passes once the reference solution is applied, leaving the
lab's tables, buckets and queues as it found them (an inventory diff). Also the
loop around it: exit codes, hints remembered per learner, progress as JSON, solution apply,
and the templates' validity (cfn-lint, offline)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from edalab import cli, labs, settings
from edalab.check_run import run_check
from edalab.waiting import WaitTimedOut, wait_for
from support import deploy_lab as deploy
from support import empty_welcome_recorder, settled_stack_contents, stack_contents

PRISTINE_FAILURE = {
    "00": ("You sent a message containing 'hello'", "hello"),
    "01": ("PUT /items/{id} replaces the item", "501"),
    "02": ("validate() accepts valid orders", "validate() is the lab 02 exercise"),
    "03": ("Priority gets exactly the orders of 100 or more", "no filter policy yet"),
    "04": ("The orders queue sends an order to edalab-orders-dlq after 3 receives", "no redrive policy"),
    "05": ("Each customer is its own message group", "'everyone'"),
    "06": ("Only the failed record was retried", "the whole batch came back"),  # charged twice, or back with it
    "07": ("Your alarm watches the age of the oldest order", "no alarm watches ApproximateAgeOfOldestMessage"),
    "09": ("dlq_triage.decide() deletes recorded orders", "NotImplementedError"),
    "10": ("Your end-to-end test passes against the correct processor", "write me"),
    "08": ("Your choice names an experiment", "experiment: TODO"),
    "11": ("The queue edalab-feedback sends a feedback to edalab-feedback-dlq", "there is no queue edalab-feedback"),
}


def test_every_lab_has_its_parts():
    found = labs.all_labs()
    assert [lab.number for lab in found][:4] == ["00", "01", "02", "03"]
    for lab in found:
        for part in ("README.md", "lab.yaml", "template.yaml", "hints.md", "check.py"):
            assert (lab.folder / part).is_file(), f"{lab.folder.name} lacks {part}"
        assert "```mermaid" in (lab.folder / "README.md").read_text(), f"{lab.folder.name} has no diagram"
        assert lab.hints(), f"{lab.folder.name} has no hints"
        assert lab.solution_script.exists() or any(lab.solution_dir.rglob("*.*")), f"{lab.folder.name} has no solution"
        for rel in lab.exercise_files:
            assert (settings.REPO_ROOT / rel).is_file() and (lab.solution_dir / rel).is_file()
            assert "TODO" in (settings.REPO_ROOT / rel).read_text(), f"{rel} has no marked TODO"


@pytest.mark.parametrize("lab_id", sorted(PRISTINE_FAILURE))
def test_check_fails_on_the_exercise_and_passes_on_the_solution(lab_engine, lab_id):
    lab = labs.find(lab_id)
    if lab_id == "00":  # a learner who has done nothing yet: no message, notification or call recorded
        empty_welcome_recorder(lab_engine.endpoint)
    deploy(lab, lab_engine.endpoint, solution=False)
    report = run_check(lab, lab_engine.endpoint)
    assert not report.passed
    step_title, detail = PRISTINE_FAILURE[lab_id]
    failure = report.first_failure
    assert failure.title.startswith(step_title), failure
    assert detail in failure.message, failure.message

    deploy(lab, lab_engine.endpoint, solution=True)  # lab 00's solution sends a message of its own
    before = settled_stack_contents(lab_engine.endpoint, lab.stack.name)
    report = run_check(lab, lab_engine.endpoint)
    assert report.passed, report.first_failure
    assert report.cleanup_problems == []
    # the check leaves nothing behind: every item, object version and message it made is gone
    try:
        wait_for(lambda: stack_contents(lab_engine.endpoint, lab.stack.name), what="the stack as it was",
                 timeout=30, until=lambda now: now == before)
    except WaitTimedOut:
        after = stack_contents(lab_engine.endpoint, lab.stack.name)
        left = {k: (before.get(k), after.get(k)) for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}
        pytest.fail(f"the check of lab {lab_id} left things behind (before, after): {left}")


def test_make_check_exit_codes_hints_and_progress(lab_engine, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EDALAB_ENDPOINT", lab_engine.endpoint)
    monkeypatch.setenv("EDALAB_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("EDALAB_LEARNER", "ada")
    lab = labs.find("01")

    deploy(lab, lab_engine.endpoint, solution=False)
    assert cli.main(["check", "01"]) == 1
    assert "make hint LAB=01" in capsys.readouterr().out
    deploy(lab, lab_engine.endpoint, solution=True)
    assert cli.main(["check", "1"]) == 0

    seen = []
    for _ in range(len(lab.hints()) + 1):
        assert cli.main(["hint", "01"]) == 0
        seen.append(capsys.readouterr().out)
    assert "Hint 1 of 4" in seen[0] and "Hint 2 of 4" in seen[1] and "Hint 4 of 4" in seen[3]
    assert "seen all 4 hints" in seen[4] and "N=<1-4>" in seen[4]

    assert cli.main(["progress", "--format", "json"]) == 0
    progress = json.loads(capsys.readouterr().out)
    assert progress["learner"] == "ada"
    by_lab = {entry["lab"]: entry for entry in progress["labs"]}
    assert by_lab["01"]["hints_used"] == [1, 2, 3, 4]
    assert by_lab["01"]["state"] == "complete" and by_lab["01"]["attempts"] == 2
    assert by_lab["00"]["state"] == "not started" and by_lab["00"]["last_check"] is None

    assert cli.main(["lab", "01"]) == 0
    shown = capsys.readouterr().out
    assert "Edit: handlers/items_api/app.py" in shown and "Next lab: `make lab LAB=02`" in shown
    assert "✓ 7." in shown  # the last check's steps, read from the journal, not run again

    assert cli.main(["check", "99"]) == 2
    assert "not a lab" in capsys.readouterr().out


def test_solution_apply_backs_up_copies_and_deploys(lab_engine, tmp_path):
    """Runs `solution --apply` in a copy of the repository, so this working tree is untouched."""
    copy = tmp_path / "repo"
    shutil.copytree(settings.REPO_ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".edalab", ".git", "__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(copy), "EDALAB_ENDPOINT": lab_engine.endpoint,
           "EDALAB_STATE_DIR": str(tmp_path / "state")}
    exercise = "handlers/items_api/app.py"
    result = subprocess.run([sys.executable, "-m", "edalab", "solution", "01"], cwd=copy, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "solution: handlers/items_api/app.py" in result.stdout
    assert (copy / exercise).read_text() == (settings.REPO_ROOT / exercise).read_text()  # shown, not applied

    result = subprocess.run([sys.executable, "-m", "edalab", "solution", "01", "--apply"], cwd=copy, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    solution = settings.REPO_ROOT / "labs/01-s3-crud-api/solution/files" / exercise
    assert (copy / exercise).read_text() == solution.read_text()
    backups = list((tmp_path / "state" / "backups").rglob("app.py"))
    assert [b.read_text() for b in backups] == [(settings.REPO_ROOT / exercise).read_text()]
    assert run_check(labs.find("01"), lab_engine.endpoint).passed


@pytest.mark.parametrize("lab", labs.all_labs(), ids=lambda lab: lab.folder.name)
def test_templates_pass_cfn_lint_offline(lab):
    from cfnlint.api import lint_file

    problems = lint_file(lab.folder / "template.yaml")
    assert [str(p) for p in problems] == []

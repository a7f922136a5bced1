"""The learner loop as a learner meets it: a check talks while it runs, shows the error the
learner's function logged, runs independent steps after a failure, cleans up after itself;
hints can be read again and print code whole; `make lab` answers from the journal without
touching the engine; progress tells an instructor attempts, times and where attempts stopped.

Most of these run a small check of their own (a lab folder written under tmp_path), so they
test the framework, not a lab; the error-cause test uses lab 01 with a handler that raises."""

from __future__ import annotations

import json
import time

import pytest

from edalab import check_printer, cli, function_errors, hint_text, labs
from edalab.check_run import run_check
from edalab.labs import Lab
from edalab.learner import LearnerRecord
from support import deploy_lab, deploy_near_miss

SMALL_CHECK = '''
import time
from edalab.checks import CheckFailed, step

LOG = []

@step("first sets a value")
def first(ctx):
    if getattr(ctx, "not_yet", "default") != "default" or hasattr(ctx, "not_yet"):
        raise CheckFailed("getattr with a default and hasattr must work on the context")
    ctx.value = 41

@step("second fails", hint=2)
def second(ctx):
    raise CheckFailed("second is broken", hint=3)

@step("third builds on second", needs=[second])
def third(ctx):
    LOG.append("third ran")

@step("fourth is independent and waits")
def fourth(ctx):
    ctx.cleanup(lambda: LOG.append("undo fourth"), "what fourth made")
    began = time.monotonic()
    ctx.wait_for(lambda: time.monotonic() - began > 1.5, what="a second and a half", timeout=10, interval=0.1)
    LOG.append(ctx.value + 1)

@step("fifth reads what a failed step would have set")
def fifth(ctx):
    return ctx.never_set

@step("sixth times out", needs=[first])
def sixth(ctx):
    ctx.cleanup(lambda: LOG.append("undo sixth"), "what sixth made")
    ctx.wait_for(lambda: {"p1"}, what="payments p1 to p3", timeout=1, until=lambda got: len(got) == 3,
                 missing=lambda got: ", ".join(sorted({"p1", "p2", "p3"} - got)))
'''


@pytest.fixture
def small_lab(tmp_path) -> Lab:
    folder = tmp_path / "98-small"
    folder.mkdir()
    (folder / "check.py").write_text(SMALL_CHECK)
    (folder / "hints.md").write_text("## 1. One\n\nFirst.\n")
    (folder / "template.yaml").write_text("Resources: {}\n")
    return Lab(folder, "A small check", "tests the framework")


def test_independent_steps_run_after_a_failure_and_dependent_ones_say_what_they_wait_on(small_lab):
    events = []
    report = run_check(small_lab, "http://127.0.0.1:9", on_event=events.append)
    by_number = {r.number: r for r in report.results}
    assert [by_number[n].status for n in range(1, 7)] == ["passed", "failed", "skipped", "passed", "skipped", "failed"]
    assert by_number[2].hint == 3  # the failure's own hint wins over the step's
    assert by_number[3].waits_on == 2 and "waits on step 2" in by_number[3].message
    assert "never_set" in by_number[5].message and "earlier step" in by_number[5].message
    assert by_number[6].message == "waited 1 s for payments p1 to p3; still missing: p2, p3"
    kinds = [e["event"] for e in events]
    assert kinds[0] == "check_started" and kinds[-1] == "check_finished"
    waits = [e for e in events if e["event"] == "waiting" and e["number"] == 4]
    assert waits and waits[-1]["what"] == "a second and a half" and waits[-1]["timeout"] == 10
    started = [e["number"] for e in events if e["event"] == "step_started"]
    assert started == [1, 2, 4, 5, 6]  # skipped steps never start
    cleaned = [e["what"] for e in events if e["event"] == "cleaned_up"]
    assert cleaned == ["what sixth made", "what fourth made"]  # newest first, after a failure too
    assert events[-1]["stopped_at"] == 2


def test_the_printer_streams_each_step_as_it_starts_and_ends(small_lab, capsys, monkeypatch):
    monkeypatch.setattr(check_printer, "LOG_WAIT_EVERY_SECONDS", 0.5)
    console = check_printer.Console(highlight=False, soft_wrap=True, force_terminal=False)
    printer = check_printer.CheckPrinter(console, hints_available=1)
    seen_while_running = []

    def listen(event):
        printer(event)
        if event["event"] == "step_finished" and event["number"] == 4:
            seen_while_running.append(capsys.readouterr().out)  # what was on screen before step 5

    run_check(small_lab, "http://127.0.0.1:9", on_event=listen)
    before_fifth = seen_while_running[0]
    assert "  4. fourth is independent and waits …" in before_fifth
    assert "waiting for a second and a half" in before_fifth and "gives up at 10 s" in before_fifth
    assert "✓ 4. fourth is independent and waits" in before_fifth
    assert "✗ 2. second fails" in before_fifth and "make hint LAB=98 N=3" in before_fifth
    rest = capsys.readouterr().out
    assert "still missing: p2, p3" in rest and "2 of 6 steps done" in rest


def test_a_failing_handler_shows_its_error_with_the_learners_file_and_line(lab_engine, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EDALAB_ENDPOINT", lab_engine.endpoint)
    monkeypatch.setenv("EDALAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("EDALAB_LEARNER", "ada")
    lab = labs.find("01")
    deploy_near_miss(lab, lab_engine.endpoint, tmp_path / "broken", {"handlers/items_api/app.py": [
        ("def update_item(event, item_id):\n", "def update_item(event, item_id):\n    item_id.no_such_thing\n")]})
    try:
        assert cli.main(["check", "01"]) == 1
        out = capsys.readouterr().out
        assert "answered 502" in out
        assert "edalab-items-api failed with AttributeError: 'str' object has no attribute 'no_such_thing'" in out
        assert "at handlers/items_api/app.py, line" in out and "item_id.no_such_thing" in out
        assert "awslocal logs filter-log-events --log-group-name /aws/lambda/edalab-items-api" in out
        # an error a check causes on purpose (its EXPECTED_ERRORS) is never shown as the cause
        since_ms = int(time.time() * 1000) - 120_000
        assert [e.error_type for e in function_errors.errors_since(lab.stack, lab_engine.endpoint, since_ms)] == [
            "AttributeError"]
        assert function_errors.errors_since(lab.stack, lab_engine.endpoint, since_ms, frozenset({"AttributeError"})) == []
    finally:
        deploy_lab(lab, lab_engine.endpoint, solution=True)


def test_hints_can_be_read_again_by_number_and_code_is_never_cut(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EDALAB_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("EDALAB_LEARNER", "ada")
    lab = labs.find("06")
    hints = lab.hints()
    assert cli.main(["hint", "06", "2"]) == 0  # straight to the hint that fits a failure
    first = capsys.readouterr().out
    assert f"Hint 2 of {len(hints)}" in first and "(again)" not in first
    code_lines = [line for line in hints[1].splitlines() if "import" in line]
    for line in code_lines:
        assert line in first.splitlines(), f"a code line was cut or wrapped: {line}"
    assert cli.main(["hint", "06"]) == 0  # the next unseen one is 1
    assert "Hint 1 of" in capsys.readouterr().out
    assert cli.main(["hint", "06", "--number", "2"]) == 0  # as `make hint LAB=06 N=2` passes it
    assert "(again)" in capsys.readouterr().out
    assert LearnerRecord().hints_seen("06") == [1, 2]
    assert cli.main(["hint", "06", "99"]) == 2
    assert "hints 1 to" in capsys.readouterr().out


def test_prose_wraps_at_words_and_keeps_inline_code_whole():
    text = ("## 3. Idempotency\n\nWrap the charge in `@idempotent_function(data_keyword_argument=\"payment\")` and call it "
            "with `payment=...` as a keyword, which is a long sentence that must wrap somewhere sensible.\n\n"
            "```python\nx = " + "a" * 120 + "\n```\n")
    shown = hint_text.render(text, columns=60).splitlines()
    assert shown[0] == "3. Idempotency"
    assert "x = " + "a" * 120 in shown  # code verbatim, whatever its width
    prose = [line for line in shown if line and not line.startswith("x = ") and line != "3. Idempotency"]
    assert all(len(line) <= 60 or "`" in line for line in prose)
    assert any('`@idempotent_function(data_keyword_argument="payment")`' in line for line in prose)


def test_make_lab_answers_from_the_journal_without_the_engine(tmp_path, monkeypatch, capsys):
    """`make lab` never runs the check: with no engine at all it still says where the learner is."""
    monkeypatch.setenv("EDALAB_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("EDALAB_LEARNER", "ada")
    monkeypatch.setenv("EDALAB_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    assert cli.main(["lab", "02"]) == 0
    out = capsys.readouterr().out
    assert "Not checked yet" in out and "handlers/upload_processor/app.py" in out
    record = LearnerRecord()
    for event in ({"event": "check_started", "lab": "02", "at": "2026-11-23T10:00:00Z", "steps": []},
                  {"event": "step_finished", "lab": "02", "number": 1, "title": "Wired", "status": "passed",
                   "message": "", "hint": None},
                  {"event": "step_finished", "lab": "02", "number": 2, "title": "Valid upload processed",
                   "status": "failed", "message": "validate() is the lab 02 exercise", "hint": 1},
                  {"event": "check_finished", "lab": "02", "at": "2026-11-23T10:00:40Z", "passed": False,
                   "seconds": 40}):
        record.journal(event)
    assert cli.main(["lab", "02"]) == 0
    out = capsys.readouterr().out
    assert "Next: step 2, Valid upload processed" in out and "make hint LAB=02 N=1" in out
    assert len(record.runs("02")) == 1  # reading it ran nothing
    # a run that did not pass though no step failed (its steps were skipped) is not "complete"
    record.journal({"event": "check_started", "lab": "02", "at": "2026-11-23T10:05:00Z", "steps": []})
    record.journal({"event": "step_finished", "lab": "02", "number": 1, "title": "Wired", "status": "skipped",
                    "message": "waits on step 0", "hint": None})
    record.journal({"event": "check_finished", "lab": "02", "at": "2026-11-23T10:05:01Z", "passed": False,
                    "seconds": 1})
    assert cli.main(["lab", "02"]) == 0
    out = capsys.readouterr().out
    assert "Complete" not in out and "Next: step 1, Wired" in out


def test_progress_gives_an_instructor_attempts_times_and_where_each_attempt_stopped(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EDALAB_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("EDALAB_LEARNER", "grace")
    record = LearnerRecord()
    for minute, passed in ((0, False), (5, False), (12, True)):
        record.journal({"event": "check_started", "lab": "01", "at": f"2026-11-23T10:{minute:02d}:00Z", "steps": []})
        record.journal({"event": "step_finished", "lab": "01", "number": 3, "title": "PUT updates",
                        "status": "passed" if passed else "failed", "message": "", "hint": 1})
        record.journal({"event": "check_finished", "lab": "01", "at": f"2026-11-23T10:{minute:02d}:30Z",
                        "passed": passed, "seconds": 30})
    record.reveal_hint("01", 2)
    assert cli.main(["progress", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["learner"] == "grace"
    lab01 = next(entry for entry in doc["labs"] if entry["lab"] == "01")
    assert lab01["attempts"] == 3 and lab01["state"] == "complete"
    assert lab01["first_check"] == "2026-11-23T10:00:00Z" and lab01["completed"] == "2026-11-23T10:12:30Z"
    assert lab01["time_to_complete_seconds"] == 12 * 60 + 30
    assert [a["stopped_at"] for a in lab01["failed_attempts"]] == ["3. PUT updates", "3. PUT updates"]
    assert lab01["hints_used"] == [2]
    assert cli.main(["progress"]) == 0
    table = capsys.readouterr().out
    assert "complete in 12 min" in table and "2026-11-23 10:12" in table


def test_the_learners_name_comes_from_git_when_not_set(tmp_path, monkeypatch):
    from edalab import learner

    monkeypatch.delenv("EDALAB_LEARNER", raising=False)
    monkeypatch.setenv("EDALAB_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(learner, "_git_user_name", lambda: "Ada Lovelace")
    assert learner.learner_name() == ("Ada Lovelace", "git config user.name")
    monkeypatch.setattr(learner, "_git_user_name", lambda: None)
    said = []
    name = learner.ask_name_once(say=said.append)  # not a terminal: one line, no prompt
    assert said and "EDALAB_LEARNER" in said[0] and name in said[0]
    assert learner.ask_name_once(say=said.append) == name and len(said) == 1  # only on first use


def test_make_lab_makes_no_engine_call(tmp_path):
    """`make lab` does no waiting work: run against an "engine" that accepts connections and
    never answers, any call to it would hang past the deadline."""
    import socket
    import subprocess
    import sys

    from edalab import settings

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        env = {"PATH": "/usr/bin:/bin", "EDALAB_STATE_DIR": str(tmp_path), "EDALAB_LEARNER": "ada",
               "EDALAB_ENDPOINT": f"http://127.0.0.1:{silent.getsockname()[1]}"}
        done = subprocess.run([sys.executable, "-m", "edalab", "lab", "04"], cwd=settings.REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=25)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Lab 04 · Dead-letter queues" in done.stdout and "Not checked yet" in done.stdout


@pytest.mark.parametrize("argv, said", [
    (["load", "11", "--count", "abc"], "COUNT='abc' is not a whole number: e.g. COUNT=2000"),
    (["traffic", "07", "--rate", "fast"], "RATE='fast' is not a number: e.g. RATE=5"),
    (["experiment", "08", "batch-10", "--count", "1.5"], "COUNT='1.5' is not a whole number"),
])
def test_a_lab_commands_bad_number_names_the_make_variable(argv, said, capsys):
    """`make load LAB=11 COUNT=abc` says which variable is wrong and what it takes, not argparse's
    "invalid int value"; nothing runs."""
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    assert stopped.value.code == 2
    assert said in capsys.readouterr().err

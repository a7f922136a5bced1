"""A lab's page in a real browser: its resources grouped as its diagram, with live numbers and
links; its check run from a button gives the same steps and verdict as `make check` and is
recorded in the learner's journal. Below, the grouping and the check's wording without a
browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

from browser import screenshot
from playwright.sync_api import expect

from edalab import check_printer, labs
from edalab.check_run import run_check
from edalab.console.check_runs import CheckRuns, check_view
from edalab.console.lab_resources import Resource, diagram, group_resources, position
from edalab.labs import Lab
from support import queue_depth

IDS = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}|[0-9a-f]{8}")  # what differs between two runs


def _row(page, name: str):
    return page.locator(f'#live tr.resource[data-name="{name}"]')


def test_lab_02_shows_its_queues_and_functions_with_live_numbers(console_page, lab_engine):
    sqs, lam = lab_engine.client("sqs"), lab_engine.client("lambda")
    dlq = sqs.get_queue_url(QueueName="edalab-uploads-dlq")["QueueUrl"]
    console_page.goto("/labs/02")
    expect(console_page.locator("h1")).to_have_text("Lab 02 · " + labs.find("02").title)
    groups = console_page.locator("#live .lab-group h3")
    expect(groups).to_have_text(["Queues", "Functions", "Tables and buckets"])  # the flow's order

    queue, dead = _row(console_page, "edalab-uploads"), _row(console_page, "edalab-uploads-dlq")
    expect(queue.locator("a")).to_have_attribute("href", "/queues/edalab-uploads")
    expect(queue.locator(".depth")).to_have_text(re.compile(r"^\d+$"))
    expect(queue.locator(".in-flight")).to_have_text(re.compile(r"^\d+$"))
    expect(dead).to_have_class(re.compile(r"\bnested\b"))  # shown under its source queue
    expect(dead.locator(".kind")).to_contain_text("dead-letter queue")
    processor = _row(console_page, "edalab-upload-processor")
    expect(processor.locator("a")).to_have_attribute("href", "/functions/edalab-upload-processor")
    expect(_row(console_page, "edalab-upload-status").locator(".items")).to_have_text(re.compile(r"^\d+$"))

    before, dead_before = int(processor.locator(".invocations").inner_text()), queue_depth(sqs, dlq)
    sent = sqs.send_message(QueueUrl=dlq, MessageBody='{"console": "a dead letter"}')
    lam.invoke(FunctionName="edalab-upload-processor", Payload=json.dumps({"Records": []}).encode())
    try:
        expect(dead.locator(".depth")).to_have_text(str(dead_before + 1), timeout=10_000)  # live, without a reload
        expect(dead.locator(".numbers span").first).to_have_class(re.compile(r"\bbad\b"))  # a DLQ holding one is red
        expect(processor.locator(".invocations")).not_to_have_text(str(before), timeout=15_000)
        screenshot(console_page, "lab-02")
    finally:
        messages = lab_engine.client("sqs").receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            if message["MessageId"] == sent["MessageId"]:
                sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
    expect(dead.locator(".depth")).to_have_text(str(dead_before), timeout=10_000)


def _journaled_runs(state: Path, lab: str) -> int:
    count = 0
    for journal in (state / "learners").glob("*.checks.jsonl"):
        count += sum(1 for line in journal.read_text().splitlines()
                     if json.loads(line)["event"] == "check_started" and json.loads(line)["lab"] == lab)
    return count


def test_the_check_button_gives_the_same_steps_and_verdict_as_make_check(console_page, lab_engine, console):
    lab = labs.find("01")
    state = lab_engine.host.state if lab_engine.host else None
    journaled = _journaled_runs(state, "01") if state else 0
    console_page.goto("/labs/01")
    console_page.get_by_role("button", name="Run the check").click()
    verdict = console_page.locator("#check .verdict")
    expect(verdict).to_be_visible(timeout=30_000)
    shown = [(li.get_attribute("data-status"), li.locator(".title").inner_text())
             for li in console_page.locator("#check li.step").all()]
    shown_messages = console_page.locator("#check li.step .message").all_inner_texts()
    shown_verdict = verdict.inner_text()
    screenshot(console_page, "lab-01-check")

    report = run_check(lab, lab_engine.endpoint)  # what `make check LAB=01` runs and prints
    assert shown == [(r.status, f"{r.number}. {r.title}") for r in report.results]
    expected_messages = [line for r in report.results if r.status != "passed"
                         for line in ([check_printer.skipped_line({"message": r.message})] if r.status == "skipped"
                                      else [r.message])]
    assert [IDS.sub("ID", m) for m in shown_messages] == [IDS.sub("ID", m) for m in expected_messages]
    assert verdict.get_attribute("data-passed") == ("true" if report.passed else "false")
    passed = sum(r.status == "passed" for r in report.results)
    assert shown_verdict.startswith(f"{passed} of {len(report.results)} steps done" if not report.passed
                                    else "Lab 01 complete")
    if report.first_failure and report.first_failure.hint:
        expect(console_page.locator("#check li.step.failed .hint").first).to_have_text(
            check_printer.hint_line("01", report.first_failure.hint))
    if state:
        assert _journaled_runs(state, "01") == journaled + 1  # recorded as `make check` records it


def test_an_unknown_lab_is_a_404_page_that_says_which_labs_there_are(console_page):
    response = console_page.goto("/labs/99")
    assert response.status == 404
    expect(console_page.locator("main")).to_contain_text("'99' is not a lab")
    expect(console_page.locator("main")).to_contain_text("01 (")


# -- without a browser ---------------------------------------------------------------------------
def _resource(kind_type: str, name: str) -> Resource:
    from edalab.console.lab_resources import KIND_OF
    return Resource(KIND_OF[kind_type], name, kind_type, name)


def test_resources_group_by_kind_in_the_flows_order_then_the_diagrams():
    diagram = """flowchart LR
    bucket[(S3<br/>edalab-uploads)] --> queue[[SQS<br/>edalab-uploads]] --> fn((edalab-b-fn))
    queue -.-> dlq[[edalab-uploads-dlq]]
    api[edalab-api] --> fn2((edalab-a-fn))
    """
    resources = [_resource("AWS::Lambda::Function", "edalab-a-fn"), _resource("AWS::S3::Bucket", "edalab-uploads"),
                 _resource("AWS::SQS::Queue", "edalab-uploads-dlq"), _resource("AWS::SQS::Queue", "edalab-uploads"),
                 _resource("AWS::Lambda::Function", "edalab-b-fn"), _resource("AWS::ApiGateway::RestApi", "edalab-api")]
    groups = group_resources(resources, diagram)
    assert [(g.title, [r.name for r in g.resources]) for g in groups] == [
        ("API", ["edalab-api"]),
        ("Queues", ["edalab-uploads", "edalab-uploads-dlq"]),
        ("Functions", ["edalab-b-fn", "edalab-a-fn"]),  # as the diagram draws them
        ("Tables and buckets", ["edalab-uploads"]),
    ]
    assert position("edalab-uploads", "x edalab-uploads-dlq y") > len("x edalab-uploads-dlq y")  # not a prefix


def test_a_table_named_as_a_queue_takes_the_place_of_its_own_node():
    lab04 = diagram(labs.find("04"))  # the queue edalab-orders comes first, the table after edalab-catalog
    tables = [_resource("AWS::DynamoDB::Table", "edalab-orders"), _resource("AWS::DynamoDB::Table", "edalab-catalog")]
    assert [r.name for r in group_resources(tables, lab04)[0].resources] == ["edalab-catalog", "edalab-orders"]


def test_a_diagram_with_subgraphs_groups_by_them():
    diagram = """flowchart LR
    subgraph ingest [Ingest]
      q[[edalab-in]] --> f((edalab-in-fn))
    end
    subgraph "Store"
      t[(edalab-table)]
    end
    f --> t
    """
    resources = [_resource("AWS::DynamoDB::Table", "edalab-table"), _resource("AWS::Lambda::Function", "edalab-in-fn"),
                 _resource("AWS::SQS::Queue", "edalab-in"), _resource("AWS::CloudWatch::Alarm", "edalab-alarm")]
    groups = group_resources(resources, diagram)
    assert [(g.title, [r.name for r in g.resources]) for g in groups] == [
        ("Ingest", ["edalab-in", "edalab-in-fn"]), ("Store", ["edalab-table"]), ("Alarms", ["edalab-alarm"])]


SLOW_CHECK = '''
import os, time
from edalab.checks import CheckFailed, step

@step("waits for the test to let it go")
def waits(ctx):
    ctx.wait_for(lambda: os.path.exists(os.environ["EDALAB_TEST_RELEASE"]), what="the release file", timeout=20,
                 interval=0.05)

@step("then fails", hint=1)
def fails(ctx):
    raise CheckFailed("as it should")
'''


def test_one_run_per_lab_at_a_time_and_the_run_is_journaled_and_worded_as_the_terminal(tmp_path, monkeypatch):
    folder = tmp_path / "97-slow"
    folder.mkdir()
    (folder / "check.py").write_text(SLOW_CHECK)
    (folder / "hints.md").write_text("## 1. One\n\nFirst.\n")
    release = tmp_path / "release"
    monkeypatch.setenv("EDALAB_TEST_RELEASE", str(release))
    monkeypatch.setenv("EDALAB_LEARNER", "tester")
    lab = Lab(folder, "A slow check", "tests the console's runs")
    runs = CheckRuns("http://127.0.0.1:9", tmp_path / "learners")

    first, started = runs.start(lab)
    second, started_again = runs.start(lab)
    assert started and not started_again and second is first
    from edalab.waiting import wait_for
    wait_for(lambda: [s["status"] for s in first.view()["steps"]][:1] == ["running"], what="the first step to start",
             timeout=10)
    release.write_text("go")
    wait_for(lambda: first.finished, what="the run to end", timeout=20)

    shown = first.view()
    assert [s["status"] for s in shown["steps"]] == ["passed", "failed"]
    assert shown["steps"][1]["message"] == ["as it should"]
    assert shown["steps"][1]["hint"] == "hint for this: `make hint LAB=97 N=1`"
    assert shown["result"] == {"passed": False, "line": check_printer.finished_line(
        {"passed": False, "lab": "97", "seconds": first.events[-1]["seconds"]}, 1, 2)}
    events = [json.loads(line)["event"] for line in (tmp_path / "learners" / "tester.checks.jsonl").read_text().splitlines()]
    assert events == ["check_started", "step_finished", "step_finished", "check_finished"]  # as `make check` keeps
    third, started_after = runs.start(lab)  # finished: a new run may start
    assert started_after and third is not first
    wait_for(lambda: third.finished, what="the third run to end", timeout=20)


def test_a_waiting_step_shows_the_terminals_waiting_line():
    events = [{"event": "check_started", "lab": "05", "title": "t", "at": "x", "steps": [{"number": 1, "title": "one"}]},
              {"event": "step_started", "lab": "05", "number": 1, "title": "one", "at": "x"},
              {"event": "waiting", "lab": "05", "number": 1, "what": "the charge", "elapsed": 3.2, "timeout": 30}]
    shown = check_view("05", events, 0, finished=False)
    assert shown["steps"][0]["status"] == "running"
    assert shown["steps"][0]["waiting"] == "waiting for the charge: 3 s so far, gives up at 30 s"
    assert shown["result"] is None

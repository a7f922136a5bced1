"""Lab 09: every drill breaks the flow so that `make check LAB=09` fails, and after the drill's
runbook scripts have run (as the drill tells the learner, in order) the check passes: service
healthy, every order the drill sent recorded once or parked on purpose, and the time to recover
in the learner's progress. The engine-killed drill kills an engine of its own, never the
session's.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

import pytest

from edalab import aws, labs
from edalab.check_run import run_check
from edalab.engine.host import HostEngine
from edalab.learner import LearnerRecord
from edalab.waiting import wait_for
from support import deploy_lab, free_port

LAB = labs.find("09")
RUNBOOKS = LAB.folder / "runbooks"
SOLUTION_TRIAGE = LAB.solution_dir / "labs" / "09-runbooks" / "runbooks" / "dlq_triage.py"


def _module(name: str, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def runbook(name: str, endpoint: str, *args: str) -> str:
    """Runs a runbook script as `python labs/09-runbooks/runbooks/<name>.py` would (the triage:
    the solution's), fails the test when it stops, and returns what it printed."""
    path = SOLUTION_TRIAGE if name == "dlq_triage" else RUNBOOKS / f"{name}.py"
    said = []
    code = _module(f"lab09_runbook_{name}", path).main([*args, "--endpoint", endpoint], say=said.append)
    assert code == 0, "\n".join(said)
    return "\n".join(said)


def drill(endpoint: str, name: str, **options) -> dict:
    said = []
    code = LAB.load_module("drill.py").run(endpoint, argparse.Namespace(name=name, **options), said.append)
    assert code == 0, "\n".join(said)
    return _shared().read_drill()


def _shared():
    return _module("_shared", RUNBOOKS / "_shared.py")


def failing_steps(endpoint: str) -> list[str]:
    report = run_check(LAB, endpoint)
    return [f"{r.number}. {r.title}: {r.message}" for r in report.results if r.status == "failed"]


def dlq_depth(endpoint: str) -> int:
    return _shared().depth(endpoint, "edalab-runbook-orders-dlq")


def assert_recovered(endpoint: str, name: str) -> None:
    assert failing_steps(endpoint) == []
    kept = LearnerRecord().drills("09")
    assert kept and kept[-1]["drill"] == name and kept[-1]["seconds"] > 0
    assert _shared().read_drill() is None  # the clock stopped: the drill is closed


def breaker_opens(endpoint: str) -> None:
    """Waits for the automatic breaker: alarm -> SNS -> function -> mapping disabled."""
    wait_for(lambda: _shared().mapping(endpoint)["State"], what="the circuit breaker to open", timeout=90,
             until=lambda state: state == "Disabled")


@pytest.fixture
def lab09(lab_engine, tmp_path, monkeypatch):
    """Lab 09 with the reference triage published, its records in a folder of this test."""
    monkeypatch.setenv("EDALAB_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("EDALAB_LEARNER", "drill-tester")
    deploy_lab(LAB, lab_engine.endpoint, solution=True)
    return lab_engine.endpoint


def test_drills_fail_the_check_until_their_runbooks_ran(lab09):
    endpoint = lab09
    assert failing_steps(endpoint) == []  # healthy before any drill

    # poison flood: the poison orders end in the DLQ; triage parks them (nothing there is fixable)
    record = drill(endpoint, "poison-flood")
    wait_for(lambda: dlq_depth(endpoint), what="the poison orders in the DLQ", timeout=90,
             until=lambda n: n == len(record["poison_ids"]))
    assert any("edalab-runbook-orders-dlq" in f for f in failing_steps(endpoint))
    runbook("dlq_triage", endpoint)
    assert_recovered(endpoint, "poison-flood")
    parked = aws.client("sqs", endpoint).get_queue_attributes(
        QueueUrl=_shared().queue_url(endpoint, "edalab-runbook-parked"),
        AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]
    assert int(parked) >= len(record["poison_ids"])

    # bad deploy: the breaker opens by itself (alarm -> SNS -> function); roll back, close, replay, triage
    drill(endpoint, "bad-deploy")
    breaker_opens(endpoint)
    assert any("1.5.0-bad" in f for f in failing_steps(endpoint))
    runbook("rollback_consumer", endpoint)
    runbook("circuit_breaker", endpoint, "resume")
    runbook("replay_archive", endpoint)
    runbook("dlq_triage", endpoint, "--fixed", "ConsumerBug")
    assert_recovered(endpoint, "bad-deploy")

    # downstream outage: writes refused until the outage ends; then close the breaker, triage
    drill(endpoint, "downstream-outage")
    breaker_opens(endpoint)
    assert any("edalab-runbook-orders-unavailable" in f for f in failing_steps(endpoint))
    runbook("rollback_consumer", endpoint)
    runbook("circuit_breaker", endpoint, "resume")
    runbook("dlq_triage", endpoint, "--fixed", "DownstreamUnavailable")
    assert_recovered(endpoint, "downstream-outage")

    # backlog (smaller here): drain with more concurrency, then put the settings back. Batches stay at
    # 10: under a loaded CI machine a batch of 20 outlasted the test's 3 s function timeout (10 took
    # up to 1.7 s), timed out whole and went to the DLQ after 3 receives.
    drill(endpoint, "backlog", count=300)
    assert any("mapping is Disabled" in f for f in failing_steps(endpoint))
    runbook("drain_backlog", endpoint, "--batch-size", "10", "--concurrency", "10")
    assert_recovered(endpoint, "backlog")


def test_dry_runs_change_nothing(lab09):
    endpoint = lab09
    before = _shared().mapping(endpoint)
    printed = "\n".join(
        runbook(name, endpoint, "--dry-run", *args)
        for name, args in (("circuit_breaker", ["pause"]), ("drain_backlog", []), ("rollback_consumer", []),
                           ("dlq_triage", ["--fixed", "ConsumerBug"]), ("engine_recovery", ["--since", "2026-01-01"]),
                           ("replay_archive", ["--start", "2026-01-01T00:00:00Z", "--end", "2026-01-01T00:10:00Z"])))
    assert "update_event_source_mapping(UUID=" in printed and "start_replay(" in printed and "dry run" in printed
    after = _shared().mapping(endpoint)
    assert (after["State"], after["BatchSize"]) == (before["State"], before["BatchSize"])


def test_engine_killed_mid_flight_is_rebuilt_and_redriven_from_the_outbox(tmp_path, monkeypatch):
    """Its own engine: the drill kills it with SIGKILL."""
    engine = HostEngine(tmp_path / "engine", free_port())
    engine.state.mkdir(parents=True)
    monkeypatch.setenv("EDALAB_STATE_DIR", str(engine.state))
    monkeypatch.setenv("EDALAB_LEARNER", "drill-tester")
    engine.start()
    try:
        deploy_lab(LAB, engine.endpoint, solution=True)
        record = drill(engine.endpoint, "engine-killed", count=120)
        assert engine.pid() is None
        assert record["recorded_at_kill"] < len(record["ids"])  # killed mid-flight
        assert any("engine is down" in f for f in failing_steps(engine.endpoint))
        runbook("engine_recovery", engine.endpoint)
        deploy_lab(LAB, engine.endpoint, solution=True)  # the learner's `make deploy`: publishes their triage
        assert_recovered(engine.endpoint, "engine-killed")
    finally:
        engine.stop()

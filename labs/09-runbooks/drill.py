"""`make drill LAB=09 NAME=<drill>`: break the lab's flow on purpose and start the clock.

Why this exists: a runbook nobody has followed under pressure is a guess. Each drill breaks one
thing the way it breaks in production, through AWS APIs only (a configuration deploy, a paused
consumer, a flood of orders, a killed engine), writes what it sent (every order id) and when it
started to the drill record `<state dir>/lab09/drill.json`, and names the runbook to open.
`make check LAB=09` then proves service is healthy again and every order is accounted for, and
records the time to recover in your progress. No NAME lists the drills.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent


def _shared():
    if "_shared" not in sys.modules:
        spec = importlib.util.spec_from_file_location("_shared", HERE / "runbooks" / "_shared.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["_shared"] = module
        spec.loader.exec_module(module)
    return sys.modules["_shared"]


BACKLOG = 5000  # orders of the backlog drill (tests pass a smaller count)


def poison_flood(endpoint, args, shared, say) -> dict:
    good, poison = shared.new_ids("pf", 20), shared.new_ids("pf-poison", 10)
    orders = [shared.order(i, "poison-flood") for i in good] + [shared.order(i, "poison-flood", False) for i in poison]
    shared.publish(endpoint, orders)
    return {"ids": good + poison, "poison_ids": poison}


def bad_deploy(endpoint, args, shared, say) -> dict:
    change = shared.change_consumer(endpoint, "release 1.5.0-bad of edalab-runbook-consumer", {"RELEASE": "1.5.0-bad"})
    _wait_updated(endpoint, shared)
    good, poison = shared.new_ids("bd", 20), shared.new_ids("bd-poison", 2)
    orders = [shared.order(i, "bad-deploy") for i in good] + [shared.order(i, "bad-deploy", False) for i in poison]
    shared.publish(endpoint, orders)
    return {"ids": good + poison, "poison_ids": poison, "change": change["id"]}


def downstream_outage(endpoint, args, shared, say) -> dict:
    change = shared.change_consumer(endpoint, "the orders table stops taking writes (simulated: the consumer "
                                    "points at a table that does not exist)",
                                    {"ORDERS_TABLE": "edalab-runbook-orders-unavailable"})
    _wait_updated(endpoint, shared)
    good, poison = shared.new_ids("do", 20), shared.new_ids("do-poison", 2)
    orders = [shared.order(i, "downstream-outage") for i in good] + \
             [shared.order(i, "downstream-outage", False) for i in poison]
    shared.publish(endpoint, orders)
    return {"ids": good + poison, "poison_ids": poison, "change": change["id"]}


def backlog(endpoint, args, shared, say) -> dict:
    count = int(getattr(args, "count", None) or BACKLOG)
    uuid = shared.mapping(endpoint)["UUID"]
    shared.aws.client("lambda", endpoint).update_event_source_mapping(UUID=uuid, Enabled=False)
    _wait(lambda: shared.mapping(endpoint)["State"] == "Disabled", "the mapping to stop")
    say(f"The consumer was paused for maintenance and nobody resumed it; {count} orders arrived meanwhile ...")
    ids = shared.new_ids("bl", count)
    shared.send_to_queue(endpoint, [shared.order(i, "backlog") for i in ids], say)
    return {"ids": ids, "poison_ids": []}


def engine_killed(endpoint, args, shared, say) -> dict:
    from edalab.engine.host import HostEngine

    port = urlparse(endpoint).port
    engine = HostEngine(shared.settings.state_dir(), port or 0)
    if engine.pid() is None:
        raise DrillRefused(f"no host engine of this state folder ({shared.settings.state_dir()}) runs on {endpoint}: "
                           "this drill kills the engine `make up` started on this machine; with the container "
                           "engine, stop it yourself (`docker kill` its container) after sending orders")
    count = int(getattr(args, "count", None) or 300)
    ids = shared.new_ids("ek", count)
    parameters = shared.stack_parameters(endpoint)
    shared.publish(endpoint, [shared.order(i, "engine-killed") for i in ids])
    _wait(lambda: shared.processed(endpoint, ids), "the first orders to be recorded", timeout=60)
    recorded = len(shared.processed(endpoint, ids))
    engine.stop(graceful=False)
    say(f"Killed the engine (SIGKILL) with {recorded} of {count} orders recorded and the rest queued or in flight.")
    return {"ids": ids, "poison_ids": [], "stack_parameters": parameters, "recorded_at_kill": recorded}


DRILLS = {
    "poison-flood": (poison_flood, "20 good orders and 10 that no fix can save (an empty customer)",
                     ["dlq_triage"], "the DLQ alarm emails on-call: orders wait in edalab-runbook-orders-dlq"),
    "bad-deploy": (bad_deploy, "release 1.5.0-bad of the consumer fails every order; 22 orders arrive, 2 of them poison",
                   ["rollback_consumer", "circuit_breaker", "replay_archive", "dlq_triage"],
                   "the error-rate alarm opens the circuit breaker and emails on-call"),
    "downstream-outage": (downstream_outage, "the orders table refuses every write; 22 orders arrive, 2 of them poison",
                          ["rollback_consumer", "circuit_breaker", "dlq_triage"],
                          "the error-rate alarm opens the circuit breaker and emails on-call"),
    "backlog": (backlog, f"the consumer is paused while {BACKLOG} orders arrive", ["drain_backlog"],
                "edalab-runbook-orders holds thousands of orders and the oldest grows older"),
    "engine-killed": (engine_killed, "300 orders are sent, then the engine is killed mid-flight",
                      ["engine_recovery"], "nothing answers on the endpoint; `make status` says the engine is down"),
}
RUNBOOK_COMMANDS = {
    "dlq_triage": "python labs/09-runbooks/runbooks/dlq_triage.py --dry-run   (then without --dry-run, with "
                  "--fixed <reason> for each cause you fixed)",
    "rollback_consumer": "python labs/09-runbooks/runbooks/rollback_consumer.py",
    "circuit_breaker": "python labs/09-runbooks/runbooks/circuit_breaker.py resume",
    "replay_archive": "python labs/09-runbooks/runbooks/replay_archive.py   (the window defaults to the drill's)",
    "drain_backlog": "python labs/09-runbooks/runbooks/drain_backlog.py",
    "engine_recovery": "python labs/09-runbooks/runbooks/engine_recovery.py",
}


class DrillRefused(RuntimeError):
    pass


def _wait(probe, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise DrillRefused(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.3)


def _wait_updated(endpoint, shared) -> None:
    lam = shared.aws.client("lambda", endpoint)
    _wait(lambda: lam.get_function_configuration(FunctionName=shared.CONSUMER)["LastUpdateStatus"] == "Successful",
          "the consumer's update")


def list_drills(say) -> int:
    say("Drills of lab 09 (make drill LAB=09 NAME=<drill>):")
    for name, (_, what, books, _symptom) in DRILLS.items():
        say(f"  {name:18s} {what}; runbooks: {', '.join(books)}")
    return 0


def run(endpoint: str, args, say=print) -> int:
    name = getattr(args, "name", None)
    if not name:
        return list_drills(say)
    if name not in DRILLS:
        say(f"There is no drill '{name}'.")
        list_drills(say)
        return 2
    shared = _shared()
    open_drill = shared.read_drill()
    if open_drill:
        say(f"The drill {open_drill['name']} (started {open_drill['started']}) is still open: recover and "
            f"`make check LAB=09` first, or delete {shared.drill_record_path()} to abandon it.")
        return 2
    if not shared.engine_answers(endpoint):
        say(f"The engine does not answer on {endpoint}: `make up` first.")
        return 2
    try:
        shared.stack_parameters(endpoint)
    except Exception:
        say(f"The lab's stack {shared.STACK} is not deployed: `make deploy LAB=09` first.")
        return 2
    action, what, books, symptom = DRILLS[name]
    started = shared.now_iso()
    say(f"Drill {name}: {what}.")
    record = {"name": name, "started": started}
    shared.write_drill({**record, "ids": [], "poison_ids": [], "sending": True})  # a crash mid-send still shows
    try:
        details = action(endpoint, args, shared, say)
    except DrillRefused as error:
        shared.drill_record_path().unlink(missing_ok=True)
        say(f"Drill not started: {error}")
        return 2
    except Exception as error:  # the engine failed mid-drill (a botocore or connection error)
        shared.drill_record_path().unlink(missing_ok=True)  # no open drill that sent nothing known
        say(f"Drill {name} stopped before it was set up: {type(error).__name__}: {error}. Nothing is recorded; "
            "`make status`, then `make reset` (the drill may have changed the consumer) and start the drill again.")
        return 1
    shared.write_drill({**record, **details, "window": {"start": started, "end": shared.now_iso()},
                        "runbooks": books})
    say(f"Sent {len(details['ids'])} order(s); their ids are in {shared.drill_record_path()}. The clock runs.")
    say(f"What you will see: {symptom}.")
    say("Open, in this order:")
    for book in books:
        say(f"  labs/09-runbooks/runbooks/{book}.md   ->  {RUNBOOK_COMMANDS[book]}")
    say("Then `make check LAB=09` stops the clock.")
    return 0

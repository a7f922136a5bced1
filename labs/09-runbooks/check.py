"""Lab 09 check: your triage decides right, service is healthy, and after a drill every order
it sent is accounted for; then the drill's time to recover goes into your progress.

Health: the engine answers, the consumer runs its good configuration, its mapping is enabled
with the lab's batch size and concurrency, no alarm of the lab is in ALARM, and the orders
queue and its DLQ are empty. With a drill open (its record in `<state dir>/lab09/drill.json`),
every order id the drill sent must be recorded in the table exactly once, or parked on purpose
in edalab-runbook-parked. The check only reads: it sends, receives and writes nothing in the
engine.
"""

import importlib.util
import json
import sys
import types
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from edalab.checks import CheckFailed, step
from edalab.engine.health import is_healthy
from edalab.learner import LearnerRecord

SETTLE = 45  # seconds the check waits for queues to drain and alarms to clear


def _load(ctx, name: str, path):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _shared(ctx):
    return _load(ctx, "_shared", ctx.lab.folder / "runbooks" / "_shared.py")


def _published_triage(ctx):
    """The triage script as `make deploy LAB=09` published it (post_deploy.py), as a module."""
    try:
        source = ctx.client("s3").get_object(Bucket=ctx.output("ScriptsBucket"), Key="runbooks/dlq_triage.py")
    except ClientError:
        raise CheckFailed("runbooks/dlq_triage.py is not published: `make deploy LAB=09`") from None
    module = types.ModuleType("edalab_lab09_dlq_triage")
    module.__file__ = str(ctx.lab.folder / "runbooks" / "dlq_triage.py")  # finds _shared.py beside it
    sys.modules[module.__name__] = module
    published = source["Body"].read()
    try:
        module.edalab_unpublished_edits = ctx.lab.folder.joinpath("runbooks", "dlq_triage.py").read_bytes() != published
    except OSError:
        module.edalab_unpublished_edits = False
    try:
        exec(compile(published, module.__file__, "exec"), module.__dict__)
    except Exception as error:
        raise CheckFailed(f"runbooks/dlq_triage.py does not load: {type(error).__name__}: {error}; fix it, then "
                          "`make deploy LAB=09`") from None
    return module


@step("dlq_triage.decide() deletes recorded orders, redrives fixed causes and parks the rest", hint=1)
def triage_decides(ctx):
    triage = _published_triage(ctx)

    def letter(order_id, reason):
        return triage.DeadLetter("m-" + order_id, "r", "{}", order_id, reason)

    unpublished = (" (your file has changed since `make deploy LAB=09` published it: the check tests what was "
                   "published, so deploy again first)") if triage.edalab_unpublished_edits else ""
    cases = [(letter("o1", "ConsumerBug"), {"ConsumerBug"}, set(), "redrive"),
             (letter("o2", "InvalidOrder"), {"ConsumerBug"}, set(), "park"),
             (letter("o3", "ConsumerBug"), {"ConsumerBug"}, {"o3"}, "delete"),
             (letter("o4", "DownstreamUnavailable"), set(), set(), "park"),
             (letter("o5", "unknown"), {"ConsumerBug", "DownstreamUnavailable"}, set(), "park"),
             (letter("o6", "InvalidOrder"), set(), {"o6"}, "delete")]
    for dead, fixed, recorded, wanted in cases:
        try:
            got = triage.decide(dead, fixed, recorded)
        except NotImplementedError:
            raise CheckFailed("decide() still raises NotImplementedError: write it in "
                              "labs/09-runbooks/runbooks/dlq_triage.py (the TODO), then `make deploy LAB=09`"
                              + unpublished) from None
        except Exception as error:
            raise CheckFailed(f"decide() failed: {type(error).__name__}: {error}{unpublished}") from None
        if got != wanted:
            hint = 2 if wanted == "delete" else 1
            raise CheckFailed(f"decide() answered {got!r} for a letter with reason {dead.reason} when the fixed "
                              f"causes are {sorted(fixed) or 'none'} and its order is "
                              f"{'already' if dead.order_id in recorded else 'not'} recorded; it should be "
                              f"{wanted!r}{unpublished}", hint=hint)


@step("The engine answers and the lab is deployed", hint=3)
def engine_up(ctx):
    if not is_healthy(ctx.endpoint):
        raise CheckFailed(f"nothing answers on {ctx.endpoint}: the engine is down. Follow "
                          "runbooks/engine_recovery.md (it starts the engine, deploys the lab and re-drives)")
    ctx.output("MappingUuid")


@step("The consumer runs its good configuration", hint=3, needs=[engine_up])
def good_configuration(ctx):
    env = ctx.client("lambda").get_function_configuration(FunctionName=ctx.output("ConsumerName"))
    variables = env["Environment"]["Variables"]
    if variables.get("RELEASE", "").endswith("-bad"):
        raise CheckFailed(f"the consumer runs release {variables['RELEASE']}, which fails every order: roll it back "
                          "(runbooks/rollback_consumer.md)")
    if variables.get("ORDERS_TABLE") != ctx.output("OrdersTable"):
        raise CheckFailed(f"the consumer writes to {variables.get('ORDERS_TABLE')}, not {ctx.output('OrdersTable')}: "
                          "the downstream outage is not over (runbooks/rollback_consumer.md)")


@step("The consumer's mapping is enabled, with the lab's batch size and concurrency", hint=4, needs=[engine_up])
def mapping_enabled(ctx):
    found = ctx.client("lambda").get_event_source_mapping(UUID=ctx.output("MappingUuid"))
    stack = ctx.client("cloudformation").describe_stacks(StackName=ctx.lab.stack.name)["Stacks"][0]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
    if found["State"] != "Enabled":
        raise CheckFailed(f"the consumer's mapping is {found['State']}: the circuit breaker is open (or the consumer "
                          "paused). Fix the cause, then close it: runbooks/circuit_breaker.md")
    batch, concurrency = int(parameters.get("BatchSize", 10)), int(parameters.get("MaximumConcurrency", 2))
    got_concurrency = (found.get("ScalingConfig") or {}).get("MaximumConcurrency")
    if found["BatchSize"] != batch or (got_concurrency or concurrency) != concurrency:
        raise CheckFailed(f"the mapping runs batch size {found['BatchSize']} and concurrency {got_concurrency}; normal "
                          f"service is {batch} and {concurrency}: put them back (runbooks/drain_backlog.md, last step)")


@step("The orders queue and its DLQ are empty", hint=5, needs=[good_configuration, mapping_enabled])
def queues_drained(ctx):
    urls = {"edalab-runbook-orders": ctx.output("OrdersQueueUrl"),
            "edalab-runbook-orders-dlq": ctx.output("DeadLetterQueueUrl")}

    def waiting():
        return {name: n for name, url in urls.items() if (n := len(ctx.queue_messages(url)))}

    dead = waiting().get("edalab-runbook-orders-dlq")
    if dead:  # a DLQ never empties by itself: no use waiting
        raise CheckFailed(f"{dead} message(s) wait in edalab-runbook-orders-dlq: triage them "
                          "(runbooks/dlq_triage.md)")

    ctx.wait_for(waiting, what="edalab-runbook-orders and its DLQ to be empty", timeout=SETTLE, until=lambda w: not w,
                 missing=lambda w: ", ".join(f"{n} message(s) in {name}" for name, n in w.items())
                 + " (a DLQ is emptied by triage: runbooks/dlq_triage.md)")


@step("No alarm of the lab is in ALARM", hint=5, needs=[queues_drained])
def alarms_ok(ctx):
    names = [ctx.output("DeadLetterAlarmName"), ctx.output("ErrorRateAlarmName")]

    def firing():
        alarms = ctx.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
        return [a["AlarmName"] for a in alarms if a["StateValue"] == "ALARM"]

    ctx.wait_for(firing, what="the lab's alarms to leave ALARM (they look back over a few periods)",
                 timeout=SETTLE, until=lambda f: not f, missing=lambda f: ", ".join(f) + " in ALARM")


def _parked_ids(ctx) -> set[str]:
    found = set()
    for message in ctx.queue_messages(ctx.output("ParkedQueueUrl")):
        try:
            found.add(json.loads(message.body)["detail"]["order_id"])
        except (ValueError, KeyError, TypeError):
            continue
    return found


@step("Every order the drill sent is recorded once or parked on purpose; the time to recover is kept", hint=6,
      needs=[alarms_ok])
def drill_accounted(ctx):
    shared = _shared(ctx)
    record = shared.read_drill()
    if not record:
        return  # no drill open: health is all there is to check (`make drill LAB=09` starts one)
    if record.get("sending"):
        raise CheckFailed(f"the drill {record['name']} stopped while it was sending, so which orders it sent is "
                          f"not known: delete {shared.drill_record_path()}, `make reset`, and start the drill again")
    ids = record["ids"]
    times = shared.processed(ctx.endpoint, ids)
    parked = _parked_ids(ctx) if len(times) < len(ids) else set()
    twice = sorted(i for i, n in times.items() if n > 1)
    lost = [i for i in ids if i not in times and i not in parked]
    if twice:
        raise CheckFailed(f"{len(twice)} order(s) recorded more than once, e.g. {twice[:3]}: the consumer must stay "
                          "idempotent")
    if lost:
        poison = set(record.get("poison_ids", []))
        raise CheckFailed(f"{len(lost)} of the {len(ids)} order(s) of drill {record['name']} are neither recorded nor "
                          f"parked, e.g. {lost[:3]}{' (poison ones among them: park them)' if poison & set(lost) else ''}."
                          f" Runbooks: {', '.join(record.get('runbooks', []))}")
    started = datetime.strptime(record["started"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    now = datetime.now(UTC)
    seconds = (now - started).total_seconds()
    LearnerRecord().record_drill(ctx.lab.number, record["name"], record["started"], shared.now_iso(), seconds,
                                 len(ids))
    history = shared.lab_dir() / "drills"
    history.mkdir(parents=True, exist_ok=True)
    (history / f"{record['name']}-{now:%Y%m%dT%H%M%S}.json").write_text(
        json.dumps({**record, "recovered": shared.now_iso(), "seconds": round(seconds, 1)}, indent=1))
    shared.drill_record_path().unlink(missing_ok=True)
    ctx.recovered = f"drill {record['name']} recovered in {seconds:.0f} s"

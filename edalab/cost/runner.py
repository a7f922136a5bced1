"""One lab 08 experiment run, end to end, and its run record (contract 3).

Why this exists: `make experiment LAB=08 NAME=…`, the lab's solution and the bench all run the
same sequence, which is what makes runs comparable:
  1. put the experiment's settings on the stack (AWS APIs) and wait until they took effect;
  2. invoke the function once (a warm-up, so a run measures the steady state, not the first
     cold start after a memory change) and empty the queue of anything left over;
  3. zero the engine's usage counters (`DELETE /_edalab/usage`);
  4. upload the orders at a steady pace (our own short-polling consumer runs meanwhile when the
     experiment says `polling: short`);
  5. wait, with a deadline, until the function recorded every upload (watched on the usage
     counters themselves: a GET of them is not an AWS call, so watching adds nothing);
  6. capture the usage document and the CPU share, read latency from the results the function
     wrote (S3 event time → the function's finish time), write the record, remove the run's
     uploads and results, and put the baseline back, whatever happened.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from edalab import aws, bootstrap, settings
from edalab.cost import engine_usage, pricing, workload
from edalab.cost.experiments import Catalogue, Experiment
from edalab.cost.lab_settings import LabStack
from edalab.waiting import WaitTimedOut, wait_for

STACK = "edalab-08-cost-performance"
FUNCTION_CALLER = "function:edalab-cost-processor"


class RunFailed(RuntimeError):
    """The run could not finish; the message says what was seen and what to do."""


def runs_folder(state: Path | None = None) -> Path:
    return (state or settings.state_dir()) / "lab08" / "runs"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class Outputs:
    bucket: str
    queue_url: str
    queue_arn: str
    table: str
    function: str
    mapping_id: str


def stack_outputs(endpoint: str) -> Outputs:
    try:
        found = bootstrap.stack_outputs(STACK, endpoint)
    except Exception:
        found = {}
    if "MappingId" not in found:
        raise RunFailed(f"lab 08's stack ({STACK}) is not deployed on {endpoint}: `make deploy LAB=08` first")
    arn = aws.client("sqs", endpoint).get_queue_attributes(
        QueueUrl=found["UploadsQueueUrl"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Outputs(found["UploadsBucket"], found["UploadsQueueUrl"], arn, found["ResultsTable"],
                   found["FunctionName"], found["MappingId"])


def processed_so_far(endpoint: str) -> int:
    """Uploads the function finished: its PutItem calls to the results table, as counted by the engine."""
    return engine_usage.requests_of(engine_usage.usage(endpoint), "dynamodb", "PutItem", FUNCTION_CALLER)


def _warm_up(endpoint: str, out: Outputs) -> None:
    aws.client("lambda", endpoint).invoke(FunctionName=out.function, Payload=b'{"Records": []}')


def _drain(endpoint: str, out: Outputs) -> None:
    sqs = aws.client("sqs", endpoint)
    attrs = sqs.get_queue_attributes(QueueUrl=out.queue_url, AttributeNames=["All"])["Attributes"]
    if int(attrs.get("ApproximateNumberOfMessages", 0)) + int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)):
        sqs.purge_queue(QueueUrl=out.queue_url)


def lab_usage(usage: dict, out: Outputs) -> dict:
    """The part of the engine's usage document that is this lab's flow: calls from clients (the
    uploads, our own consumer), from the lab's function and its mapping, the notifications the
    engine sent into the lab's queue; the function's own Lambda, DynamoDB and log figures. Other
    labs' mappings keep polling during a run (and a learner may be busy elsewhere): not ours."""
    mapping, function = f"mapping:{out.mapping_id}", f"function:{out.function}"

    def ours(row: dict) -> bool:
        caller = row.get("caller")
        return caller in ("client", function, mapping) or (caller == "engine" and row.get("service") != "sqs") \
            or (caller == "engine" and row.get("operation") in pricing.ENGINE_SENDS_BILLED)

    table = (usage.get("dynamodb") or {}).get("by_table", {}).get(out.table, {"read_units": 0, "write_units": 0})
    group = f"/aws/lambda/{out.function}"
    logs = (usage.get("logs") or {}).get("by_group", {}).get(group, {"ingested_bytes": 0, "events": 0})
    return {**usage,
            "requests": [row for row in usage.get("requests") or [] if ours(row)],
            "lambda": [row for row in usage.get("lambda") or [] if row.get("function") == out.function],
            "dynamodb": {**table, "by_table": {out.table: table}},
            "logs": {**logs, "by_group": {group: logs}}}


def cpu_of(endpoint: str, memory_mb: int) -> dict:
    share = engine_usage.cpu_share(endpoint)
    modelled = share.get("mode") in (None, "unavailable")
    return {"mode": share.get("mode", "unavailable"), "detail": share.get("detail", ""),
            "vcpu": round(memory_mb * engine_usage.VCPU_PER_MB, 3), "modelled": modelled,
            **({"formula": f"{engine_usage.FORMULA} = {memory_mb / 1769:.2f}"} if modelled else {})}


def run(endpoint: str, catalogue: Catalogue, experiment: Experiment, count: int | None = None,
        rate_per_s: float | None = None, say: Callable[[str], None] = print,
        state: Path | None = None) -> dict:
    count = catalogue.events if count is None else count
    rate = catalogue.rate_per_s if rate_per_s is None else rate_per_s
    if count <= 0:
        raise RunFailed(f"COUNT={count}: a run needs at least one upload (the default is {catalogue.events})")
    if rate <= 0:
        raise RunFailed(f"RATE={rate}: uploads per second must be above 0 (the default is {catalogue.rate_per_s:g})")
    engine_usage.usage(endpoint)  # refuses a stock or old engine before anything changes
    out = stack_outputs(endpoint)
    lab = LabStack(endpoint, out.function, out.mapping_id)
    values = experiment.settings
    say(f"{experiment.name}: batch size {values['batch_size']}, window {values['batching_window_s']} s, "
        f"{values['memory_mb']} MB, {values['polling']} polling; {count} uploads at {rate:g}/s")
    run_id = f"{experiment.name}-{uuid.uuid4().hex[:6]}"
    consumer = None
    try:
        lab.apply(values)
        _warm_up(endpoint, out)
        _drain(endpoint, out)
        engine_usage.reset_usage(endpoint)
        started = now_iso()
        if values["polling"] == "short":
            consumer = workload.ShortPollingConsumer(endpoint, out.queue_url, out.queue_arn, out.function,
                                                     values["batch_size"])
            consumer.start()
        sent_in = workload.send_uploads(endpoint, out.bucket, run_id, count, rate)
        say(f"  sent {count} uploads in {sent_in:.1f} s; waiting for the function to process them")
        deadline = 60 + 3 * values["batching_window_s"] + count / 20
        try:
            wait_for(lambda: (consumer.error if consumer else None) or processed_so_far(endpoint),
                     what=f"the function to process {count} uploads", timeout=deadline, interval=0.5,
                     until=lambda seen: isinstance(seen, Exception) or seen >= count)
        except WaitTimedOut as timed_out:
            raise RunFailed(f"after {deadline:.0f} s the function had processed {timed_out.last} of {count} uploads: "
                            "see `make logs`, and the function's log (`awslocal logs tail "
                            "/aws/lambda/edalab-cost-processor`)") from None
        if consumer and consumer.error:
            raise RunFailed(f"our short-polling consumer failed: {consumer.error}")
        usage = engine_usage.usage(endpoint)
        finished = now_iso()
        if consumer:
            consumer.stop.set()
            consumer.join(timeout=10)
        items = workload.results(endpoint, out.table, run_id)
        record = {
            "name": experiment.name, "started": started, "finished": finished,
            "settings": {**values, "events": count, "rate_per_s": rate},
            "outcome": {"sent": count, "processed": len(items), "failed": max(0, count - len(items))},
            "latency_ms": workload.latency_summary(items),
            "throughput_per_s": workload.throughput_per_s(items),
            "cpu": cpu_of(endpoint, values["memory_mb"]),
            "usage": lab_usage(usage, out),
            "usage_engine": usage,  # everything the engine counted meanwhile, for tracing
        }
        folder = runs_folder(state)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{experiment.name}.json").write_text(json.dumps(record, indent=1))
        workload.remove(endpoint, out.bucket, out.table, run_id, items)
        return record
    finally:
        if consumer:
            consumer.stop.set()
            consumer.join(timeout=10)
        try:
            lab.apply(catalogue.baseline)
        except Exception as error:  # the engine went away mid-run: the run's own error says what happened
            say(f"  could not put the lab's baseline settings back ({type(error).__name__}); "
                "`make deploy LAB=08` does once the engine answers")


def summary_lines(record: dict, prices: pricing.Prices) -> list[str]:
    lines = pricing.cost_lines(record["usage"], prices)
    events = record["outcome"]["sent"]
    usd = pricing.total(lines)
    latency, cpu = record["latency_ms"], record["cpu"]
    shown = [f"  processed {record['outcome']['processed']} of {events}; latency upload → processed: "
             f"p50 {latency['p50']:.0f} ms, p95 {latency['p95']:.0f} ms, max {latency['max']:.0f} ms; "
             f"{record['throughput_per_s']:.1f} uploads/s",
             f"  cost of this run ${usd:.6f} = ${pricing.per_million(usd, events):.2f} per million uploads "
             f"({prices.region} prices taken {prices.taken}):"]
    for line in lines:
        if line.quantity:
            shown.append(f"    {line.service:<8} {line.item:<16} {line.quantity:>12,.4g} {line.unit:<10} "
                         f"${pricing.per_million(line.usd, events):>7.3f} per million")
    memory = record["settings"]["memory_mb"]
    if cpu["modelled"]:
        shown.append(f"  memory is modelled: this machine gives functions no CPU share ({cpu.get('detail')}); "
                     f"on AWS {memory} MB buys {cpu.get('formula')} vCPU")
    else:
        shown.append(f"  CPU share: {cpu['vcpu']:.2f} vCPU at {memory} MB ({cpu['mode']})")
    return shown

"""Lab 08: prices refused with clear reasons and a usage document priced by hand; one small
experiment run end to end against the engine, its record agreeing with what was sent; bad input
to `make experiment`; and the check against near misses (a dearer choice, a choice that misses the
target, a report whose costs were not recomputed), on run records derived from that real run."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from edalab import cli, labs
from edalab.check_run import run_check
from edalab.cost import engine_usage, experiments, pricing

LAB = labs.find("08")
PRICES = LAB.folder / "prices.yaml"
FUNCTION = "edalab-cost-processor"


# ------------------------------------------------------------------------------------ prices

def table_with(tmp_path: Path, old: str, new: str) -> Path:
    text = PRICES.read_text()
    assert old in text, old
    path = tmp_path / "prices.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("old, new, said", [
    ("usd: 0.20, per: 1000000, unit: request", "usd: -0.20, per: 1000000, unit: request", "is negative"),
    ("usd: 0.20, per: 1000000, unit: request", "per: 1000000, unit: request", "missing `usd:`"),
    ("usd: 0.40, per: 1000000, unit: request", "usd: 0.40, per: 1000000, unit: requests", "unknown unit 'requests'"),
    ("taken: 2026-11-24", "taken: soon", "say when the prices were taken"),
    ("taken: 2026-11-24", "", "say when the prices were taken"),
    ('     source: "https://aws.amazon.com/sqs/pricing/"}\n  - {service: s3', "}\n  - {service: s3", "no `source:`"),
    ("{service: s3, item: tier2,", "{service: s3, item: tier9,", "unknown service/item"),
    ("usd: 0.0004, per: 1000, unit: request", "usd: zero, per: 1000, unit: request", "is not a number"),
])
def test_a_price_table_that_cannot_be_used_is_refused_saying_what_to_write(tmp_path, old, new, said):
    with pytest.raises(pricing.PriceError) as refused:
        pricing.load_prices(table_with(tmp_path, old, new))
    assert said in str(refused.value)


def test_a_table_without_a_line_the_runs_need_says_which(tmp_path):
    text = "\n".join(line for line in PRICES.read_text().splitlines() if "item: tier1" not in line)
    path = tmp_path / "prices.yaml"
    path.write_text(text.replace('     note: "S3 Standard PUT, COPY, POST, LIST",\n'
                                 '     source: "https://aws.amazon.com/s3/pricing/"}\n', ""))
    with pytest.raises(pricing.PriceError, match="no price for s3 tier1"):
        pricing.load_prices(path)
    with pytest.raises(pricing.PriceError, match="no such file"):
        pricing.load_prices(tmp_path / "missing.yaml")


def test_a_usage_document_priced_by_hand():
    usage = {
        "requests": [
            {"service": "sqs", "operation": "SendMessage", "caller": "engine", "count": 1000, "billable": 1000, "empty": 0},
            {"service": "sqs", "operation": "GetQueueAttributes", "caller": "engine", "count": 50, "billable": 50, "empty": 0},
            {"service": "sqs", "operation": "ReceiveMessage", "caller": "mapping:m1", "count": 500, "billable": 500, "empty": 100},
            {"service": "sqs", "operation": "DeleteMessageBatch", "caller": "mapping:m1", "count": 300, "billable": 300, "empty": 0},
            {"service": "sqs", "operation": "SendMessage", "caller": "client", "count": 10, "billable": 30, "empty": 0},
            {"service": "sqs", "operation": "ReceiveMessage", "caller": "console", "count": 999, "billable": 999, "empty": 999}],
        "lambda": [{"function": FUNCTION, "memory_mb": 512, "invocations": 300, "errors": 0, "duration_ms": 9000.0,
                    "billed_ms": 9000, "gb_seconds": 4.5},
                   {"function": "other", "memory_mb": 128, "invocations": 100, "errors": 0, "duration_ms": 1000.0,
                    "billed_ms": 1000}],  # no gb_seconds: 128/1024 GB x 1 s
        "s3": {"tier1": 1000, "tier2": 1000},
        "dynamodb": {"read_units": 0, "write_units": 1000},
        "logs": {"ingested_bytes": 2 ** 30 // 4, "events": 10},
        "sns": {"publishes": 0, "billable": 0, "deliveries": {"sqs": 7, "lambda": 0, "email": 3, "sms": 0, "http": 0}},
        "events": {"entries": 2, "billable": 2, "deliveries": 2},
        "apigateway": {"requests": 4},
    }
    lines = {(line.service, line.item): line for line in pricing.cost_lines(usage, pricing.load_prices())}
    by_hand = {
        ("lambda", "requests"): (400, 400 * 0.20 / 1e6),
        ("lambda", "duration"): (4.625, 4.625 * 0.0000166667),
        ("sqs", "requests"): (1830, 1830 * 0.40 / 1e6),      # engine sends + mapping + client chunks; no console
        ("s3", "tier1"): (1000, 1000 * 0.005 / 1000),
        ("s3", "tier2"): (1000, 1000 * 0.0004 / 1000),
        ("dynamodb", "write_units"): (1000, 1000 * 0.625 / 1e6),
        ("logs", "ingested"): (0.25, 0.25 * 0.50),
        ("sns", "deliveries_sqs"): (7, 0.0),
        ("sns", "deliveries_email"): (3, 3 * 2.00 / 100000),
        ("events", "custom_events"): (2, 2 * 1.00 / 1e6),
        ("apigateway", "requests"): (4, 4 * 3.50 / 1e6),
    }
    for key, (quantity, usd) in by_hand.items():
        assert lines[key].quantity == pytest.approx(quantity), key
        assert lines[key].usd == pytest.approx(usd), key
        assert lines[key].usd == pytest.approx(lines[key].quantity * lines[key].unit_price_usd)
    assert pricing.total(list(lines.values())) == pytest.approx(sum(usd for _, usd in by_hand.values()))
    with_free = pricing.cost_lines(usage, pricing.load_prices(), free_tier=True)
    free = {(line.service, line.item): line for line in with_free if "free tier" in line.item}
    assert free[("lambda", "requests (free tier)")].quantity == -400  # all of it: the allowance is 1M
    # with the free tier, what is left to pay is what has no allowance (email: 1,000 free a month)
    assert pricing.total(with_free) == pytest.approx(by_hand[("s3", "tier1")][1] + by_hand[("s3", "tier2")][1]
                                                     + by_hand[("dynamodb", "write_units")][1]
                                                     + by_hand[("events", "custom_events")][1]
                                                     + by_hand[("apigateway", "requests")][1])


def test_the_catalogue_honours_what_aws_refuses(tmp_path):
    catalogue = experiments.load()
    assert catalogue.find("batch-100").settings["batching_window_s"] >= 1
    assert catalogue.find("window-0").settings == catalogue.find("batch-10").settings == catalogue.baseline
    assert len(catalogue.distinct()) == 8
    bad = tmp_path / "experiments.yaml"
    bad.write_text((LAB.folder / "experiments.yaml").read_text().replace(
        "change: {batch_size: 100, batching_window_s: 1}", "change: {batch_size: 100}"))
    with pytest.raises(experiments.ExperimentError, match="batch_size 100 needs batching_window_s of at least 1"):
        experiments.load(bad)


# ------------------------------------------------------------------------------- a real run

@pytest.fixture(scope="module")
def measured(lab_engine, tmp_path_factory):
    """One small experiment run through `make experiment`, in a state folder of its own."""
    state = tmp_path_factory.mktemp("lab08")
    patch = pytest.MonkeyPatch()
    patch.setenv("EDALAB_STATE_DIR", str(state))
    patch.setenv("EDALAB_ENDPOINT", lab_engine.endpoint)
    try:
        assert cli.main(["experiment", "08", "window-1", "--count", "12", "--rate", "8"]) == 0
        record = json.loads((state / "lab08" / "runs" / "window-1.json").read_text())
        yield lab_engine, state, record, patch
    finally:
        patch.undo()


def calls(usage, service, operation, caller=None):
    return engine_usage.requests_of(usage, service, operation, caller)


def test_a_run_records_what_was_sent_and_puts_the_baseline_back(measured):
    engine, _, record, _ = measured
    usage = record["usage"]
    assert record["settings"] == {"batch_size": 10, "batching_window_s": 1, "memory_mb": 512, "polling": "long",
                                  "events": 12, "rate_per_s": 8.0}
    assert record["outcome"] == {"sent": 12, "processed": 12, "failed": 0}
    mapping = f"mapping:{engine.client('lambda').list_event_source_mappings(FunctionName=FUNCTION)['EventSourceMappings'][0]['UUID']}"
    (ours,) = [row for row in usage["lambda"] if row["function"] == FUNCTION]
    invocations = calls(usage, "lambda", "Invoke", mapping)
    assert ours["invocations"] == invocations and 2 <= invocations <= 12  # a 1 s window gathers several
    assert ours["memory_mb"] == 512 and ours["gb_seconds"] == pytest.approx(ours["billed_ms"] / 1000 * 0.5, rel=0.01)
    assert calls(usage, "s3", "PutObject", "client") == 12
    assert calls(usage, "s3", "GetObject", f"function:{FUNCTION}") == 12
    assert usage["s3"]["tier1"] >= 12 and usage["s3"]["tier2"] >= 12
    assert calls(usage, "sqs", "SendMessage", "engine") == 12  # S3's notifications into the queue
    receives = calls(usage, "sqs", "ReceiveMessage", mapping)
    assert receives >= invocations and calls(usage, "sqs", "DeleteMessageBatch", mapping) >= 1
    assert usage["dynamodb"]["write_units"] == 12
    lines = {(line.service, line.item): line for line in pricing.cost_lines(usage, pricing.load_prices())}
    assert lines[("lambda", "requests")].quantity == invocations
    assert lines[("sqs", "requests")].quantity >= 12 + receives + 1
    latency = record["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["max"] < 10_000
    assert record["cpu"]["mode"] == engine_usage.cpu_share(engine.endpoint)["mode"]
    mapping_now = engine.client("lambda").list_event_source_mappings(FunctionName=FUNCTION)["EventSourceMappings"][0]
    assert (mapping_now["BatchSize"], mapping_now.get("MaximumBatchingWindowInSeconds", 0)) == (10, 0)
    assert engine.client("s3").list_objects_v2(Bucket="edalab-cost-uploads").get("KeyCount") == 0


def test_bad_input_to_make_experiment_says_what_to_do(measured, capsys):
    assert cli.main(["experiment", "08", "batch-7"]) == 2
    said = capsys.readouterr().out
    assert "no experiment 'batch-7'" in said and "batch-100" in said and "memory-1769" in said
    assert cli.main(["experiment", "08", "batch-10", "--count", "0"]) == 2
    assert "COUNT=0" in capsys.readouterr().out
    assert cli.main(["experiment", "08"]) == 0
    assert "polling-short" in capsys.readouterr().out


# --------------------------------------------------------------------- the check's verdicts

def derived_runs(record: dict) -> dict[str, dict]:
    """Every experiment's record, derived from the real one: latency and counts set so that
    window-1 is the cheapest meeting the target, window-5 cheaper still but too slow."""
    runs = {}
    catalogue = experiments.load()
    for group in catalogue.distinct():
        experiment = group[0]
        run = copy.deepcopy(record)
        run["name"], run["settings"] = experiment.name, {**experiment.settings, "events": 12, "rate_per_s": 8.0}
        extra = {"window-1": 0, "window-5": -2, "batch-100": 2}.get(experiment.name, 10)
        run["usage"]["requests"].append({"service": "sqs", "operation": "ReceiveMessage", "caller": "client",
                                         "count": 0, "billable": 10 + extra, "empty": 0})
        run["latency_ms"] = {"p50": 500, "p95": 2600 if experiment.name == "window-5" else 900, "max": 3000}
        runs[experiment.name] = run
    return runs


def choose(endpoint: str, tmp_path: Path, name: str) -> None:
    root = tmp_path / "choice"
    (root / "labs/08-cost-performance").mkdir(parents=True, exist_ok=True)
    (root / "labs/08-cost-performance/choice.yaml").write_text(f"experiment: {name}\nwhy: the test says so\n")
    LAB.load_module("post_deploy.py").apply(endpoint, root, print)


def test_the_check_refuses_a_dearer_choice_a_slow_one_and_a_stale_report(measured, tmp_path):
    engine, state, record, patch = measured
    runs_dir = state / "lab08" / "runs"
    for name, run in derived_runs(record).items():
        (runs_dir / f"{name}.json").write_text(json.dumps(run))
    assert cli.main(["report", "08"]) == 0
    try:
        choose(engine.endpoint, tmp_path, "batch-1")
        failure = run_check(LAB, engine.endpoint).first_failure
        assert failure.title.startswith("No measured run that meets the target is cheaper")
        assert "window-1 also meets the target" in failure.message

        choose(engine.endpoint, tmp_path, "window-5")
        failure = run_check(LAB, engine.endpoint).first_failure
        assert failure.title.startswith("Your choice was run and meets the target") and "2,600 ms" in failure.message

        choose(engine.endpoint, tmp_path, "window-1")
        assert run_check(LAB, engine.endpoint).passed
        report_json = state / "lab08" / "report.json"
        written = json.loads(report_json.read_text())
        written["runs"][0]["cost_lines"][0]["usd"] *= 2
        report_json.write_text(json.dumps(written))
        failure = run_check(LAB, engine.endpoint).first_failure
        assert failure.title.startswith("The report's costs are its counts") and "counts × prices.yaml give" in failure.message

        (runs_dir / "memory-1769.json").unlink()
        failure = run_check(LAB, engine.endpoint).first_failure
        assert failure.title.startswith("Every experiment has a measured run")
        assert "NAME=memory-1769" in failure.message
    finally:
        LAB.load_module("post_deploy.py").apply(engine.endpoint, Path("/nonexistent"), print)  # no choice again



def test_a_path_the_engine_does_not_serve_is_not_taken_for_a_usage_document(engine):
    """Stock LocalStack has no /_edalab/usage and takes the path for S3 (DELETE answers 200 with
    no body, GET an S3 error). A path our engine does not serve either is answered the same
    way by the same S3: the runner must see no document there, never an empty one."""
    for method in ("DELETE", "GET"):
        assert engine_usage._call(engine.endpoint, "/_edalab/no-such-counters", method) is None
    assert engine_usage.reset_usage(engine.endpoint)["since"]  # the real one is a document


@pytest.mark.parametrize("text", ["", "- a list\n", "experiments: [1, 2]\n", "workload: {events: abc}\n",
                                  "baseline: {batch_size: 10, batching_window_s: 0, memory_mb: 512, polling: long}\n"
                                  "experiments: {x: 5}\n"])
def test_a_broken_experiments_file_is_refused_with_a_reason(tmp_path, text):
    broken = tmp_path / "experiments.yaml"
    broken.write_text(text)
    with pytest.raises(experiments.ExperimentError, match="experiments.yaml: "):
        experiments.load(broken)


def test_the_reference_solution_keeps_its_choice_or_makes_it_again_from_the_runs_measured_here(
        measured, tmp_path, monkeypatch):
    """The right answer is a measurement: where the reference choice (batch-100) is not the cheapest
    run within the target on this machine, the solution chooses as a learner would, and the check
    passes; where it is, it is kept. Written under EDALAB_EXERCISE_ROOT, never the working tree."""
    engine, state, record, _ = measured
    runs_dir, chooser = state / "lab08" / "runs", LAB.load_module("solution/choose.py")
    root = tmp_path / "exercise"
    monkeypatch.setenv("EDALAB_EXERCISE_ROOT", str(root))  # EDALAB_ENDPOINT and the state folder: `measured`
    mine = root / "labs/08-cost-performance/choice.yaml"
    runs = derived_runs(record)  # window-1 the cheapest within the target
    runs["batch-100"]["latency_ms"] = {"p50": 1500, "p95": 2400, "max": 3000}  # too slow on this machine
    for name, run in runs.items():
        (runs_dir / f"{name}.json").write_text(json.dumps(run))
    try:
        assert chooser.main() == 0
        written = mine.read_text()
        assert "experiment: window-1" in written and "# Lab 08's exercise" in written  # the comments are kept
        assert yaml.safe_load(written)["why"].startswith("on my runs the cheapest that meets p95 <= 2,000 ms")
        assert cli.main(["report", "08"]) == 0
        assert run_check(LAB, engine.endpoint).passed

        mine.unlink()  # a fresh apply: the reference file again, and batch-100 as cheap as window-1 here
        runs["batch-100"] = {**copy.deepcopy(runs["window-1"]), "name": "batch-100",
                             "settings": runs["batch-100"]["settings"]}
        (runs_dir / "batch-100.json").write_text(json.dumps(runs["batch-100"]))
        assert chooser.main() == 0
        assert not mine.exists()  # kept: nothing written, the recorded choice stands

        for name, run in runs.items():  # nothing meets the target: the solution says so and fails
            run["latency_ms"] = {"p50": 2500, "p95": 2900, "max": 3000}
            (runs_dir / f"{name}.json").write_text(json.dumps(run))
        assert chooser.main() == 1
    finally:
        LAB.load_module("post_deploy.py").apply(engine.endpoint, Path("/nonexistent"), print)  # no choice again

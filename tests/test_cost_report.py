"""Lab 08's report from run records the tests write: repricing, the Pareto frontier (ties too), the
cheapest run meeting the target, the JSON's lines recomputing to the totals, the files written, the
chart, and a clear message for no runs, a corrupt run file and bad prices. No engine needed: the
records are contract 3's, built here."""

from __future__ import annotations

import importlib.util
import json
import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from edalab import settings
from edalab.cost import pricing, report, report_chart, report_render

LAB = settings.REPO_ROOT / "labs" / "08-cost-performance"
EVENTS = 1000
SQS_PRICE = 0.40 / 1_000_000


def usage(sqs_requests: int, invocations: int = 100, gb_seconds: float = 1.5) -> dict:
    return {"since": "2026-11-24T04:00:00+00:00", "now": "2026-11-24T04:01:00+00:00",
            "requests": [{"service": "sqs", "operation": "ReceiveMessage", "caller": "mapping:abc",
                          "count": sqs_requests, "billable": sqs_requests, "empty": 3},
                         {"service": "sqs", "operation": "ReceiveMessage", "caller": "console",
                          "count": 999, "billable": 999, "empty": 999}],
            "lambda": [{"function": "cost-processor", "memory_mb": 512, "invocations": invocations, "errors": 0,
                        "duration_ms": 1000.0, "billed_ms": 1000, "gb_seconds": gb_seconds}],
            "s3": {"tier1": EVENTS, "tier2": 0}}


def record(name: str, p95: float, sqs_requests: int, memory_mb: int = 512, modelled: bool = False, **extra) -> dict:
    return {"name": name, "started": "2026-11-24T04:00:00+00:00", "finished": "2026-11-24T04:01:00+00:00",
            "settings": {"batch_size": 10, "batching_window_s": 0, "memory_mb": memory_mb, "polling": "long",
                         "events": EVENTS},
            "outcome": {"sent": EVENTS, "processed": EVENTS, "failed": 0},
            "latency_ms": {"p50": p95 / 2, "p95": p95, "max": p95 * 1.2}, "throughput_per_s": 50.0,
            "cpu": {"mode": "unavailable" if modelled else "cgroup-v2", "vcpu": memory_mb / 1769, "modelled": modelled},
            "usage": usage(sqs_requests), **extra}


def write_runs(state: Path, *records: dict) -> None:
    folder = report.runs_folder(state)
    folder.mkdir(parents=True, exist_ok=True)
    for run in records:
        (folder / f"{run['name']}.json").write_text(json.dumps(run))


def build(state: Path, **options) -> report.Report:
    options.setdefault("choice_file", state / "no-choice.yaml")
    experiments = state / "experiments.yaml"  # as the lab's: the baseline run stands for three experiments
    experiments.write_text("experiments:\n  batch-10: {change: {}, same_as: [window-0, polling-long, memory-512]}\n")
    options.setdefault("experiments_file", experiments)
    return report.build(state, **options)


def test_the_frontier_keeps_runs_no_other_beats_on_both_axes_and_ties_stay_together(tmp_path):
    write_runs(tmp_path,
               record("batch-1", p95=300, sqs_requests=5000),     # dearest, fastest: on the frontier
               record("batch-10", p95=900, sqs_requests=800),     # on the frontier
               record("batch-100", p95=2500, sqs_requests=100),   # cheapest, misses the target: on the frontier
               record("window-1", p95=900, sqs_requests=800),     # ties batch-10 on both: both on it
               record("window-5", p95=2600, sqs_requests=800),    # as cheap as batch-10 but slower: dominated
               record("polling-short", p95=300, sqs_requests=9000))  # as fast as batch-1 but dearer: dominated
    built = build(tmp_path)
    assert [row.name for row in built.frontier] == ["batch-100", "batch-10", "window-1", "batch-1"]
    assert {row.name for row in built.rows if not row.on_frontier} == {"window-5", "polling-short"}
    cheapest = built.cheapest_meeting_target
    assert cheapest.name == "batch-10"  # ties with window-1 on cost and p95: the name decides, reproducibly
    assert [row.name for row in built.rows if row.meets_target] == ["batch-1", "batch-10", "polling-short", "window-1"]
    batch, window, polling = built.groups
    assert [group.title for group in built.groups] == ["Batch size", "Batching window", "Polling"]
    assert [batch.name_of(row) for row in batch.rows] == ["batch-1", "batch-10", "batch-100"]
    assert [window.name_of(row) for row in window.rows] == ["window-0 (= batch-10)", "window-1", "window-5"]
    assert [polling.name_of(row) for row in polling.rows] == ["polling-long (= batch-10)", "polling-short"]
    assert "| window-0 (= batch-10) |" in report_render.markdown(built)


def test_every_run_is_repriced_with_the_prices_as_they_are_now(tmp_path):
    write_runs(tmp_path, record("batch-10", p95=900, sqs_requests=800))
    before = build(tmp_path).rows[0]
    table = (LAB / "prices.yaml").read_text()
    sqs_line = "{service: sqs, item: requests, usd: 0.40,"
    assert sqs_line in table
    edited = tmp_path / "prices.yaml"
    edited.write_text(table.replace(sqs_line, "{service: sqs, item: requests, usd: 1.40,"))
    after = build(tmp_path, prices_file=edited).rows[0]
    assert after.total_usd == pytest.approx(before.total_usd + 800 * 1.0 / 1_000_000)
    assert after.usd_per_million == pytest.approx(after.total_usd / EVENTS * 1_000_000)
    sqs = next(line for line in after.lines if (line.service, line.item) == ("sqs", "requests"))
    assert sqs.quantity == 800  # the console's 999 polls are not priced
    assert report_render.json_document(build(tmp_path, prices_file=edited))["prices"]["lines"][2]["usd"] == 1.40


def test_the_json_holds_raw_counts_whose_lines_recompute_to_every_total(tmp_path):
    write_runs(tmp_path, record("batch-1", p95=300, sqs_requests=5000), record("memory-128", p95=2500,
               sqs_requests=700, memory_mb=128, modelled=True))
    written = report_render.write_all(build(tmp_path), tmp_path / "out")
    assert [path.name for path in written] == ["report.md", "report.html", "report.svg", "report.json"]
    document = json.loads((tmp_path / "out" / "report.json").read_text())
    prices = pricing.load_prices()
    for run in document["runs"]:
        for line in run["cost_lines"]:
            assert math.isclose(line["quantity"] * line["unit_price_usd"], line["usd"], rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(sum(line["usd"] for line in run["cost_lines"]), run["total_usd"], rel_tol=1e-12)
        assert math.isclose(run["total_usd"] / run["outcome"]["sent"] * 1e6, run["usd_per_million_events"])
        recomputed = pricing.cost_lines(run["usage"], prices)  # from the raw counts in the JSON alone
        assert [(line.quantity, line.usd) for line in recomputed] == \
               [(line["quantity"], line["usd"]) for line in run["cost_lines"]]
        assert run["meets_target"] == (run["latency_ms"]["p95"] <= document["latency_target_ms"])
    memory = next(run for run in document["runs"] if run["name"] == "memory-128")
    assert memory["modelled"] == "vCPU = 128 MB ÷ 1,769 MB = 0.07"
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "![Cost per million events against p95 latency](report.svg)" in markdown
    assert report.MEMORY_NOTE_MODELLED in markdown and "modelled: vCPU = 128 MB" in markdown
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<svg" in page and "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "Memory is modelled here" in page
    (report.runs_folder(tmp_path) / "memory-128.json").write_text(json.dumps(record("memory-128", p95=2500,
                                                                  sqs_requests=700, memory_mb=128)))
    shared = report_render.markdown(build(tmp_path))  # a real CPU share: the page says so, nothing is "modelled"
    assert report.MEMORY_NOTE_SHARED in shared and "modelled:" not in shared


def test_the_chart_draws_each_run_the_frontier_and_the_dashed_target(tmp_path):
    write_runs(tmp_path, record("batch-1", p95=300, sqs_requests=5000), record("batch-10", p95=900, sqs_requests=800),
               record("window-5", p95=2600, sqs_requests=800))
    (tmp_path / "choice.yaml").write_text("name: batch-10\nwhy: cheapest under 2 s\n")
    built = build(tmp_path, choice_file=tmp_path / "choice.yaml")
    assert built.choice == "batch-10"
    root = ElementTree.fromstring(report_chart.svg(built))
    svg = "{http://www.w3.org/2000/svg}"
    runs = root.findall(f"{svg}g[@class='run']")
    assert sorted(g.get("data-run") for g in runs) == ["batch-1", "batch-10", "window-5"]
    frontier = root.find(f"{svg}polyline[@class='frontier']").get("points").split()
    assert len(frontier) == 2  # batch-10 and batch-1; window-5 is dominated by batch-10
    target = root.find(f"{svg}line[@class='target']")
    assert target.get("stroke-dasharray") and target.get("y1") == target.get("y2")
    labels = [text.text for text in root.findall(f"{svg}text[@class='label']")]
    assert sorted(labels) == ["batch-1", "batch-10 ★ your choice", "window-5"]
    table = report_render.html_body(built)
    assert '<tr data-run="batch-10" class="chosen frontier cheapest">' in table
    assert "Your choice in choice.yaml: batch-10" in report_render.markdown(built)


def test_the_lab_states_its_target_or_the_constant_applies(tmp_path):
    stated = tmp_path / "lab.yaml"
    stated.write_text("title: x\nlatency_target_ms: 1500\n")
    assert report.latency_target_ms(stated) == 1500
    assert report.latency_target_ms(tmp_path / "missing.yaml") == report.LATENCY_TARGET_MS == 2000
    choice = tmp_path / "choice.yaml"
    choice.write_text("experiment: TODO    # one of the names\nwhy: TODO\n")
    assert report.read_choice(choice) is None  # the lab's placeholder is no choice yet
    choice.write_text("experiment: window-1\nwhy: cheapest under 2 s\n")
    assert report.read_choice(choice) == "window-1"
    assert report_render.exact(0.0000166667) == "0.0000166667" and report_render.exact(6100.0) == "6,100"


def load_command():
    spec = importlib.util.spec_from_file_location("lab08_report", LAB / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_command(state: Path, monkeypatch) -> tuple[int, str]:
    monkeypatch.setenv("EDALAB_STATE_DIR", str(state))
    monkeypatch.setattr(report, "CHOICE_FILE", state / "no-choice.yaml")
    said: list[str] = []
    code = load_command().run("http://localhost:4566", None, said.append)
    return code, "\n".join(said)


def test_make_report_writes_the_files_and_says_what_to_do_when_it_cannot(tmp_path, monkeypatch):
    code, said = run_command(tmp_path, monkeypatch)
    assert code == 1 and "run `make experiment LAB=08 NAME=…` first; `make experiment LAB=08` lists them" in said

    write_runs(tmp_path, record("batch-10", p95=900, sqs_requests=800))
    code, said = run_command(tmp_path, monkeypatch)
    assert code == 0, said
    assert "batch-10" in said and "Cheapest run meeting the target: batch-10" in said
    for name in report_render.FILES:
        assert str(tmp_path / "lab08" / name) in said and (tmp_path / "lab08" / name).is_file()

    corrupt = report.runs_folder(tmp_path) / "window-5.json"
    corrupt.write_text('{"name": "window-5", "outcome": ')
    code, said = run_command(tmp_path, monkeypatch)
    assert code == 1 and str(corrupt) in said and "make experiment LAB=08 NAME=window-5" in said
    assert "Traceback" not in said
    corrupt.write_text(json.dumps({**record("window-5", p95=1, sqs_requests=1), "latency_ms": {"p50": 1}}))
    code, said = run_command(tmp_path, monkeypatch)
    assert code == 1 and "lacks latency_ms.p95" in said
    corrupt.unlink()

    negative = tmp_path / "prices.yaml"
    negative.write_text((LAB / "prices.yaml").read_text().replace("usd: 0.40,", "usd: -0.40,"))
    monkeypatch.setattr(pricing, "DEFAULT_PATH", negative)
    code, said = run_command(tmp_path, monkeypatch)
    assert code == 1 and "prices.yaml cannot be used" in said and "negative" in said


@pytest.mark.parametrize("change", [{"usage": "not counts"}, {"settings": "batch 10"},
                                    {"usage": {"requests": "many"}}, {"name": 7}])
def test_a_hand_edited_record_of_the_wrong_shape_is_named_not_a_crash(tmp_path, change):
    record = {"name": "batch-10", "outcome": {"sent": 10, "processed": 10, "failed": 0},
              "latency_ms": {"p50": 1, "p95": 2, "max": 3}, "settings": {"events": 10}, "usage": {}}
    path = tmp_path / "batch-10.json"
    path.write_text(json.dumps({**record, **change}))
    with pytest.raises(report.RunRecordError, match="batch-10.json lacks"):
        report.load_run(path)

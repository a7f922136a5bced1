"""The console's Cost page in a real browser, on a console of its own (a private state folder, so the
runs are exactly the test's): the empty state says what to run; a corrupt run record is named with
what to rerun; run records written by the test appear without a reload, each with the cost the test
recomputes from its raw counts, in a table per experiment, on a chart with the frontier and the
dashed target; memory runs say they are modelled."""

from __future__ import annotations

import pytest
from browser import screenshot, start_console
from playwright.sync_api import expect

from edalab.cost import pricing, report, report_render
from test_cost_report import record, write_runs


@pytest.fixture
def cost_console(lab_engine, tmp_path):
    running = start_console(lab_engine.endpoint, tmp_path / "state", tmp_path / "console.log")
    try:
        yield running, tmp_path / "state"
    finally:
        running.process.terminate()
        running.process.wait(timeout=10)


def test_the_cost_page_shows_priced_runs_their_chart_and_says_what_to_do_without_them(console_page, cost_console):
    console, state = cost_console
    page = console_page
    page.goto(f"{console.url}/cost")
    empty = page.locator(".cost-empty")
    expect(empty).to_contain_text("No experiment run yet")
    expect(empty).to_contain_text("make experiment LAB=08 NAME=…")
    expect(page.locator("nav a.here")).to_have_text("Cost")

    corrupt = report.runs_folder(state) / "batch-5.json"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_text('{"name": "batch-5", "latency_ms": {')
    problem = page.locator(".cost-problem")  # the page polls: no reload
    expect(problem).to_contain_text(str(corrupt), timeout=15_000)
    expect(problem).to_contain_text("make experiment LAB=08 NAME=batch-5")
    corrupt.unlink()

    runs = [record("batch-1", p95=1400, sqs_requests=52_000), record("batch-10", p95=900, sqs_requests=6_100),
            record("batch-100", p95=2900, sqs_requests=900),
            record("memory-128", p95=2400, sqs_requests=6_100, memory_mb=128, modelled=True)]
    for run, size in zip(runs, (1, 10, 100, 10)):
        run["settings"]["batch_size"] = size
    write_runs(state, *runs)
    batch = page.locator("section.card", has=page.locator("h2", has_text="Batch size"))
    expect(batch.locator("tr[data-run]")).to_have_count(3, timeout=15_000)

    prices = pricing.load_prices()
    memory = page.locator('section[data-group="memory"]')
    for run in runs:  # the cost column, recomputed here from the record's raw counts
        per_million = pricing.total(pricing.cost_lines(run["usage"], prices)) / run["outcome"]["sent"] * 1e6
        row = (memory if run["name"].startswith("memory") else batch).locator(f'tr[data-run="{run["name"]}"]')
        expect(row).to_contain_text(report_render.usd(per_million))
        expect(row).to_contain_text(f'{run["latency_ms"]["p95"]:,.0f}')
    expect(batch.locator('tr[data-run="batch-10"]')).to_have_class("frontier cheapest")
    expect(batch.locator('tr[data-run="batch-1"]')).to_have_class("")  # batch-10 is cheaper and faster
    expect(batch.locator('tr[data-run="batch-100"] .badge')).to_have_text("misses")
    # the baseline run is also the memory experiment's 512 MB (experiments.yaml's same_as)
    expect(memory.locator('tr[data-run="batch-10"] td').first).to_have_text("memory-512 (= batch-10)")
    expect(page.locator(".cost-summary")).to_contain_text("Cheapest run meeting the target: batch-10")
    expect(batch).to_contain_text("Every run here: window 0 s · long polling · 512 MB.")

    expect(memory.locator('tr[data-run="memory-128"]')).to_contain_text("modelled: vCPU = 128 MB ÷ 1,769 MB = 0.07")
    expect(page.locator(".cost-memory-note")).to_contain_text("Memory is modelled here: host mode does not enforce memory")

    chart = page.locator("figure.cost-chart-card svg.cost-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("g.run")).to_have_count(4)
    assert len(chart.locator("polyline.frontier").get_attribute("points").split()) == 2  # batch-100, batch-10
    expect(chart.locator("line.target")).to_have_attribute("stroke-dasharray", "6 4")
    expect(chart.locator("text.label", has_text="batch-100")).to_be_visible()
    box = chart.bounding_box()
    assert box["width"] > 600 and box["height"] > 300, box

    page.locator('details[data-run="batch-10"] summary').click()
    sqs = page.locator('details[data-run="batch-10"] tr', has_text="sqs")
    expect(sqs).to_contain_text("6,100")
    expect(sqs).to_contain_text("0.0000004")  # $0.40 per million requests, written out
    screenshot(page, "cost")

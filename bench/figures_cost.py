"""Figures for lab 08: what its workload costs per million uploads on each configuration, and
its p95 latency from upload to processed, from runs of `make experiment LAB=08` itself.

Why this exists: issue #15 asks `make bench` for the cost of the test workload per million events
on each configuration. Each distinct setting of labs/08-cost-performance/experiments.yaml runs
once (BENCH_COST_EVENTS uploads at the catalogue's rate; the run records go to a temporary state
folder, never a learner's), priced with prices.yaml as it is. Call `cost(engine)` from
bench/run.py once every lab is deployed on `engine`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from figures import Figure

from edalab.cost import experiments, pricing, runner


def cost(engine) -> list[Figure]:
    events = int(os.environ.get("BENCH_COST_EVENTS", "60"))
    catalogue, prices = experiments.load(), pricing.load_prices()
    state = Path(tempfile.mkdtemp(prefix="edalab-bench-cost-"))
    measured = []
    for group in catalogue.distinct():
        experiment = group[0]
        record = runner.run(engine.endpoint, catalogue, experiment, count=events, say=lambda line: None, state=state)
        usd = pricing.total(pricing.cost_lines(record["usage"], prices))
        label = f"lab 08 {experiment.name} ({events} uploads)"
        if record["cpu"]["modelled"]:
            label += ", memory modelled"
        cents = 100 * pricing.per_million(usd, record["outcome"]["sent"])  # cents: the table shows one decimal
        measured.append(Figure(f"{label}: cost per million uploads", "¢", [cents], {}))
        measured.append(Figure(f"{label}: p95 upload → processed", "ms", [record["latency_ms"]["p95"]], {}))
    return measured

"""`make bench`: every figure of the engine beside its baselines, as a table and as JSON.

Why this exists: speed belongs in benchmarks, not in timed tests. This runs the figures of
bench/figures.py on engines of its own (free ports, temporary state folders, never a learner's
engine), prints median and p95 next to the same loop on a canned loopback server (the ceiling)
and on moto's server (a peer), and writes bench/results/latest.json and latest.md (the table
the README shows). Takes about 18 minutes on 2 cores. BENCH_MESSAGES sets the throughput run's
size (default 5000).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
# the tests' helpers (support.py): creating functions and queues, free ports, polling a queue
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import figures  # noqa: E402
import figures_alarms  # noqa: E402
import figures_aws_metrics  # noqa: E402
import figures_capstone  # noqa: E402
import figures_console  # noqa: E402
import figures_cost  # noqa: E402
import figures_cpu  # noqa: E402
import figures_insights  # noqa: E402
import figures_logs  # noqa: E402
import figures_metrics  # noqa: E402
import figures_polling  # noqa: E402
import figures_reset  # noqa: E402
import figures_start  # noqa: E402
import figures_usage  # noqa: E402
import report  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    # no options yet; parsing still answers --help (and refuses a typo) instead of an 8-minute run
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    messages = int(os.environ.get("BENCH_MESSAGES", "5000"))
    measured = figures.front_door(runs=3)
    measured += figures_reset.reset_and_up()  # the baseline snapshot beside the full paths (#18)
    measured += figures_start.start(runs=7) + figures_start.first_deploy(runs=3)  # beside stock LocalStack (#18)
    start, engine = figures.engine_start(runs=3)
    measured.insert(0, start)
    try:
        from edalab import labs

        labs.deploy_all(engine.endpoint)
        measured.append(figures.warm_invoke(engine.endpoint, runs=50))
        measured.append(figures.api_request(engine.endpoint, runs=30))
        measured.append(figures.upload_processed(engine.endpoint, runs=15))
        measured.append(figures.pipeline_throughput(engine.endpoint, messages=messages, runs=2))
        measured += figures.lab_checks(engine, runs=2)
        # the engine's CloudWatch, Logs and event source mappings as AWS documents them (#13)
        measured.append(figures_logs.metric_filter_throughput(engine.endpoint, events=50_000, runs=3))
        measured.append(figures_insights.insights_query(engine.endpoint, events=100_000, runs=5))
        measured.append(figures_aws_metrics.emf_put_log_events(engine.endpoint, runs=30))
        measured.append(figures_aws_metrics.emf_metric_delay(engine.endpoint, runs=15))
        measured.append(figures_metrics.metric_math_query(engine.endpoint, runs=30))
        measured.append(figures_alarms.alarm_reaction(engine.endpoint, runs=5))
        measured += figures_cpu.cpu_share(engine.endpoint, runs=10)  # memory buys CPU, as on Lambda (#15)
        measured += figures_polling.polling(engine)
        measured += figures_usage.usage_overhead()  # the usage meter on every request, beside none (#15)
        measured += figures_cost.cost(engine)  # lab 08: cost per million uploads and p95, per configuration (#15)
        measured += figures_capstone.capstone(engine)  # lab 11: 2,000 submissions through the API (#17)
        measured += figures_console.console(engine)  # the console (#14) beside the engine
    finally:
        engine.stop()
    doc = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
        "figures": [report.as_json(figure) for figure in measured],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(doc, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(report.markdown(measured, doc) + "\n")
    report.print_table(measured)
    print(f"written: {RESULTS / 'latest.json'} and latest.md")


if __name__ == "__main__":
    main()

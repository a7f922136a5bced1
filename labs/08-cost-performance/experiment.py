"""`make experiment LAB=08 NAME=…`: runs one experiment and prints what it cost and how fast it was.

Why this exists: the lab's exercise is a choice made from measured runs, so running one must be
one command. Without NAME it lists the experiments; COUNT=… changes how many uploads a run sends
and RATE=… how many per second. The run itself is `edalab.cost.runner`; its record goes to
`.edalab/lab08/runs/<name>.json`, which `make report LAB=08` and `make check LAB=08` read.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from edalab.cost import engine_usage, experiments, pricing, runner


def list_them(catalogue: experiments.Catalogue, say) -> int:
    say(f"Lab 08's experiments ({catalogue.events} uploads at {catalogue.rate_per_s:g}/s each unless COUNT=/RATE= "
        "say otherwise; about a minute each):")
    for name, experiment in catalogue.experiments.items():
        values = experiment.settings
        say(f"  {name:<14} batch {values['batch_size']:>3}, window {values['batching_window_s']} s, "
            f"{values['memory_mb']:>4} MB, {values['polling']:<5} polling  {experiment.about}")
    say("Run one: make experiment LAB=08 NAME=batch-10   (then `make report LAB=08`)")
    return 0


def run(endpoint, args, say) -> int:
    try:
        catalogue = experiments.load()
        prices = pricing.load_prices()
    except (experiments.ExperimentError, pricing.PriceError) as error:
        say(str(error))
        return 1
    name = getattr(args, "name", None)
    if not name:
        return list_them(catalogue, say)
    try:
        experiment = catalogue.find(name)
    except experiments.ExperimentError as error:
        say(f"{error}. `make experiment LAB=08` lists them with their settings.")
        return 2
    count, rate = getattr(args, "count", None), getattr(args, "rate", None)
    if count is not None and count <= 0:
        say(f"COUNT={count}: a run needs at least one upload; leave COUNT out for {catalogue.events}")
        return 2
    if rate is not None and rate <= 0:
        say(f"RATE={rate:g}: uploads per second must be above 0; leave RATE out for {catalogue.rate_per_s:g}")
        return 2
    try:
        record = runner.run(endpoint, catalogue, experiment, count, rate, say)
    except (runner.RunFailed, engine_usage.EngineLacksUsage) as error:
        say(str(error))
        return 1
    except (BotoCoreError, ClientError, OSError) as error:  # the engine stopped answering, or refused a call
        say(f"The run {experiment.name} stopped: {type(error).__name__}: {error}. Nothing was recorded for it; "
            "`make status` says whether the engine runs (`make up` starts it), then run the experiment again.")
        return 1
    for line in runner.summary_lines(record, prices):
        say(line)
    say(f"  recorded in {runner.runs_folder() / (experiment.name + '.json')}; `make report LAB=08` compares the runs")
    return 0

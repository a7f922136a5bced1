"""Lab 08 check: the choice in choice.yaml is the cheapest measured run that meets the target.

What it proves, from the learner's own runs (`make experiment LAB=08 NAME=…` writes one record
per experiment; nothing here runs the workload):
  1. a choice was recorded (`make deploy LAB=08` records choice.yaml) with a one-line why;
  2. every experiment's settings were measured (runs of identical settings count once: batch-10
     is also window-0, polling-long and memory-512), so the choice was made among all of them;
  3. the chosen experiment was run, processed every upload, and its p95 latency meets the target;
  4. no measured run that meets the target is cheaper per million uploads, every run repriced
     with prices.yaml as it is now (runs within 3 % of each other count as a tie: two runs of the
     same settings on a laptop differ by about that much, mostly in GB-seconds);
  5. the report (`make report LAB=08`) is up to date and its costs are its raw counts × prices:
     each line recomputed here from the usage each run captured.
The check creates nothing on the engine.
"""

import json

from edalab import aws
from edalab.checks import CheckFailed, step
from edalab.cost import experiments, pricing, report

PARAMETER = "/edalab/lab08/choice"


def _matches(record: dict, experiment: experiments.Experiment) -> bool:
    values = record.get("settings") or {}
    return all(values.get(key) == experiment.settings[key] for key in experiments.SETTING_KEYS)


def _usd(value: float) -> str:
    return f"${value:.3f}"


@step("Your choice names an experiment and says why", hint=1)
def chosen(ctx):
    ssm = ctx.client("ssm")
    try:
        value = ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        raise CheckFailed("no choice recorded: labs/08-cost-performance/choice.yaml still says `experiment: TODO`. "
                          "Run the experiments, write the one you choose and one line why, then "
                          "`make deploy LAB=08` (it records the file) and check again") from None
    ctx.choice = json.loads(value)
    ctx.catalogue = experiments.load()


@step("Every experiment has a measured run", hint=2, needs=[chosen])
def all_measured(ctx):
    try:
        built = report.build()
    except (report.RunRecordError, pricing.PriceError) as error:
        raise CheckFailed(str(error)) from None
    ctx.report = built
    records = [row.record for row in built.rows]
    missing = [group for group in ctx.catalogue.distinct() if not any(_matches(r, group[0]) for r in records)]
    if missing:
        commands = "\n".join(f"  make experiment LAB=08 NAME={group[0].name}" for group in missing)
        raise CheckFailed(f"{len(missing)} of the {len(ctx.catalogue.distinct())} settings were never measured, so "
                          f"the choice cannot be compared with them. Run:\n{commands}\n(COUNT=… makes a run "
                          "shorter; its figures are then rougher)")


def _row_for(ctx, name: str):
    experiment = ctx.catalogue.find(name)
    same_name = [row for row in ctx.report.rows if row.name == name and _matches(row.record, experiment)]
    same_settings = [row for row in ctx.report.rows if _matches(row.record, experiment)]
    return (same_name or same_settings or [None])[0]


@step("Your choice was run and meets the target", hint=3, needs=[all_measured])
def choice_meets_target(ctx):
    name = ctx.choice["experiment"]
    row = _row_for(ctx, name)
    if row is None:
        raise CheckFailed(f"you chose {name}, but it was never run: `make experiment LAB=08 NAME={name}`")
    ctx.chosen_row = row
    if row.outcome.get("processed", 0) < row.events:
        raise CheckFailed(f"your run of {row.name} processed {row.outcome.get('processed')} of {row.events} uploads: "
                          f"run it again (`make experiment LAB=08 NAME={row.name}`)")
    target = ctx.report.target_ms
    if row.p95 > target:
        raise CheckFailed(f"you chose {row.name}, whose p95 latency was {row.p95:,.0f} ms: the target is "
                          f"{target:,.0f} ms or less. Choose among the runs that meet it (`make report LAB=08`)")


@step("No measured run that meets the target is cheaper", hint=3, needs=[choice_meets_target])
def cheapest(ctx):
    chosen_row = ctx.chosen_row
    cheaper = report.clearly_cheaper(ctx.report.rows, chosen_row)  # within report.TIE_FRACTION is a tie
    if cheaper:
        best = min(cheaper, key=lambda row: row.usd_per_million)
        raise CheckFailed(f"{best.name} also meets the target (p95 {best.p95:,.0f} ms) and costs "
                          f"{_usd(best.usd_per_million)} per million uploads; your choice {chosen_row.name} costs "
                          f"{_usd(chosen_row.usd_per_million)} (prices.yaml as it is now). Compare the cost lines "
                          "of the two in `make report LAB=08`")


@step("The report's costs are its counts × prices.yaml", hint=4, needs=[all_measured])
def report_adds_up(ctx):
    path = report.report_folder() / "report.json"
    if not path.exists():
        raise CheckFailed("there is no report yet: `make report LAB=08` writes it from your runs")
    try:
        written = json.loads(path.read_text())
    except ValueError:
        raise CheckFailed(f"{path} is not valid JSON: `make report LAB=08` writes it again") from None
    prices = ctx.report.prices
    in_report = {run.get("name"): run for run in written.get("runs") or []}
    stale = [row.name for row in ctx.report.rows
             if in_report.get(row.name, {}).get("finished") != row.record.get("finished")]
    if stale:
        raise CheckFailed(f"the report is older than your runs of {', '.join(stale)}: `make report LAB=08` again")
    wrong = []
    for name, run in in_report.items():
        expected = {(line.service, line.item): line for line in pricing.cost_lines(run.get("usage") or {}, prices)}
        for line in run.get("cost_lines") or []:
            mine = expected.get((line.get("service"), line.get("item")))
            if mine is None or abs(line.get("usd", 0) - mine.usd) > 1e-12 + 1e-9 * abs(mine.usd) \
                    or line.get("quantity") != mine.quantity:
                wrong.append(f"{name}: {line.get('service')} {line.get('item')} says {line.get('quantity')} × "
                             f"= ${line.get('usd')}; the counts × prices.yaml give "
                             f"{mine.quantity if mine else '?'} = ${mine.usd if mine else '?'}")
        total = pricing.total(list(expected.values()))
        if abs((run.get("total_usd") or 0) - total) > 1e-12 + 1e-9 * total:
            wrong.append(f"{name}: total ${run.get('total_usd')} but its lines add up to ${total}")
    if wrong:
        raise CheckFailed("the report's costs do not match its counts × prices.yaml (was prices.yaml edited after "
                          "`make report LAB=08`? run it again):\n" + "\n".join(f"  - {w}" for w in wrong[:10]))

"""Lab 08's report, computed: every recorded experiment run repriced, compared and ranked.

Why this exists: `make report LAB=08`, the console's Cost page and the lab's check all need the
same numbers from the same run records (`state_dir/lab08/runs/<name>.json`, written by
`make experiment LAB=08 NAME=…`). This module reads those records, prices each run's measured
usage with the *current* prices (`edalab.cost.pricing`, so a learner who edits prices.yaml for
their region sees every run repriced), and works out per run: the cost lines, the total, the
cost per million events, p50/p95 latency, throughput and whether p95 meets the lab's target;
then, across runs, the Pareto frontier on (cost per million events, p95 latency) and the
cheapest run that meets the target. Rendering the result is `report_render` and `report_chart`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

from edalab import settings
from edalab.cost import pricing

LAB_FOLDER = settings.REPO_ROOT / "labs" / "08-cost-performance"
CHOICE_FILE = LAB_FOLDER / "choice.yaml"
# The lab's latency target: p95 from upload to processed, at most this many milliseconds. The lab
# may state it in its lab.yaml as `latency_target_ms:`; this is the value when it does not.
LATENCY_TARGET_MS = 2000.0
TIE_FRACTION = 0.03  # runs within 3 % of each other per million events are as cheap as each other (run-to-run noise)
LAMBDA_MB_PER_VCPU = 1769  # Lambda gives a function one full vCPU at 1,769 MB, a share below it

GROUP_TITLES = {"batch": "Batch size", "window": "Batching window", "polling": "Polling",
                "memory": "Function memory"}
SEED_003 = ("For comparison, another function measured on AWS (the workshop's seed 003) took 397 ms at 128 MB "
            "and 189 ms at 512 MB: four times the CPU, twice the speed, as part of its time was spent waiting.")
MEMORY_NOTE_MODELLED = ("Memory is modelled here: host mode does not enforce memory, and this engine could not give "
                        "function processes a CPU share, so rows marked modelled ran at the host's full CPU; their "
                        "vCPU is the formula's (memory MB ÷ 1,769), not measured. " + SEED_003)
MEMORY_NOTE_SHARED = ("Memory in host mode: a function's memory is not enforced, but each function process ran with a "
                      "CPU share proportional to its memory (memory MB ÷ 1,769 vCPU, as Lambda gives one vCPU at "
                      "1,769 MB), so durations do change with memory. " + SEED_003)


class RunRecordError(ValueError):
    """A run record cannot be read; the message names the file and says which experiment to rerun."""


def runs_folder(state_dir: Path | None = None) -> Path:
    return (state_dir or settings.state_dir()) / "lab08" / "runs"


def report_folder(state_dir: Path | None = None) -> Path:
    return (state_dir or settings.state_dir()) / "lab08"


def latency_target_ms(lab_yaml: Path = LAB_FOLDER / "lab.yaml") -> float:
    """The lab's p95 target in ms: lab.yaml's `latency_target_ms` when it states one, else LATENCY_TARGET_MS."""
    try:
        stated = (yaml.safe_load(lab_yaml.read_text()) or {}).get("latency_target_ms")
    except (OSError, yaml.YAMLError, AttributeError):
        stated = None
    return float(stated) if isinstance(stated, (int, float)) and stated > 0 else LATENCY_TARGET_MS


@dataclass
class RunRow:
    """One experiment run, repriced: what the report shows for it."""

    record: dict
    file: Path
    lines: list  # pricing.CostLine
    total_usd: float
    events: int
    meets_target: bool
    modelled: str | None = None  # the memory formula when the run's CPU share was modelled
    on_frontier: bool = False

    @property
    def name(self) -> str:
        return self.record["name"]

    @property
    def group(self) -> str:
        return str(self.record.get("group") or self.name.split("-", 1)[0])

    @property
    def settings(self) -> dict:
        return self.record.get("settings") or {}

    @property
    def outcome(self) -> dict:
        return self.record.get("outcome") or {}

    @property
    def p50(self) -> float:
        return float(self.record["latency_ms"]["p50"])

    @property
    def p95(self) -> float:
        return float(self.record["latency_ms"]["p95"])

    @property
    def throughput(self) -> float:
        return float(self.record.get("throughput_per_s") or 0.0)

    @property
    def usd_per_million(self) -> float | None:
        """What a million events cost at this run's rate: total ÷ events sent × 1,000,000."""
        return pricing.per_million(self.total_usd, self.events) if self.events else None


def choosable(rows: list[RunRow]) -> list[RunRow]:
    """The runs lab 08's choice may name: priced, every event processed, p95 within the target."""
    return [row for row in rows if row.meets_target and row.usd_per_million is not None
            and row.outcome.get("processed", 0) >= row.events]


def clearly_cheaper(rows: list[RunRow], than: RunRow) -> list[RunRow]:
    """The choosable runs cheaper than `than` by more than the tie (TIE_FRACTION)."""
    return [row for row in choosable(rows) if row.usd_per_million < than.usd_per_million * (1 - TIE_FRACTION)]


@dataclass
class Group:
    key: str  # `batch`, `window`, `polling`, `memory`, or another name's prefix
    rows: list[RunRow]
    shown: dict[str, str]  # run name -> the name it is shown under in this group (aliases only)

    @property
    def title(self) -> str:
        return GROUP_TITLES.get(self.key, self.key)

    def name_of(self, row: RunRow) -> str:
        return self.shown.get(row.name, row.name)


@dataclass
class Report:
    rows: list[RunRow]
    prices: pricing.Prices
    target_ms: float
    generated: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    choice: str | None = None  # the run the learner chose in choice.yaml, when it names one
    aliases: dict[str, list[str]] = field(default_factory=dict)  # run name -> the experiments it also stands for

    @property
    def frontier(self) -> list[RunRow]:
        """The non-dominated runs, cheapest first (the frontier's line runs through them in this order)."""
        return sorted((row for row in self.rows if row.on_frontier), key=lambda row: (row.usd_per_million, row.p95))

    @property
    def cheapest_meeting_target(self) -> RunRow | None:
        meeting = [row for row in self.rows if row.meets_target and row.usd_per_million is not None]
        return min(meeting, key=lambda row: (row.usd_per_million, row.p95, row.name), default=None)

    @property
    def groups(self) -> list[Group]:
        """A group per experiment family (batch, window, polling, memory, then any other), rows in natural
        order. A run that stands for another experiment too (experiments.yaml's `same_as`: the baseline
        batch-10 is also window-0, polling-long and memory-512) also joins that experiment's group, shown
        under that name, when the group has runs of its own to compare it with."""
        grouped: dict[str, Group] = {}
        for row in self.rows:
            grouped.setdefault(row.group, Group(row.group, [], {})).rows.append(row)
        for row in self.rows:
            for alias in self.aliases.get(row.name, []):
                group = grouped.get(alias.split("-", 1)[0])
                if group and row not in group.rows and all(other.name != alias for other in group.rows):
                    group.rows.append(row)
                    group.shown[row.name] = f"{alias} (= {row.name})"
        for group in grouped.values():
            group.rows.sort(key=lambda row: natural_order(group.shown.get(row.name, row.name)))
        known = list(GROUP_TITLES)
        return sorted(grouped.values(), key=lambda group: (known.index(group.key) if group.key in known
                                                          else len(known), group.key))

    @property
    def memory_note(self) -> str:
        """What the page must say about memory: modelled (no CPU share) or a real CPU share."""
        return MEMORY_NOTE_MODELLED if any(row.modelled for row in self.rows) else MEMORY_NOTE_SHARED

    @property
    def shows_memory(self) -> bool:
        """True when a memory experiment (or a modelled CPU share) is on the page: the page must say so."""
        return any(row.group == "memory" or row.modelled for row in self.rows)

    @property
    def prices_shown(self) -> str:
        """`us-east-1 prices taken 2026-11-24 (labs/08-cost-performance/prices.yaml)`."""
        return f"{self.prices.region} prices taken {self.prices.taken.isoformat()} ({shown_path(self.prices.path)})"


def shown_path(path: Path | None) -> str:
    """A path relative to the repository when it is inside it (what a learner types), else whole."""
    if path is None:
        return "the default prices.yaml"
    try:
        return str(Path(path).resolve().relative_to(settings.REPO_ROOT))
    except ValueError:
        return str(path)


def natural_order(name: str) -> list:
    """`memory-128` before `memory-512` before `memory-1769`: digits compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name) if part]


def load_run(path: Path) -> dict:
    """One run record, checked for the fields the report uses."""
    rerun = f"rerun that experiment (`make experiment LAB=08 NAME={path.stem}`) to write it again"
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise RunRecordError(f"cannot read the run record {path}: {error}; {rerun}") from None
    except json.JSONDecodeError as error:
        raise RunRecordError(f"the run record {path} is not valid JSON ({error.msg} at line {error.lineno}); "
                             f"{rerun}") from None
    missing = _missing_fields(record)
    if missing:
        raise RunRecordError(f"the run record {path} lacks {', '.join(missing)}; {rerun}")
    return record


def _missing_fields(record) -> list[str]:
    if not isinstance(record, dict):
        return ["everything (it is not a JSON object)"]
    missing = [] if isinstance(record.get("name"), str) else ["name"]
    missing += [key for key in ("outcome", "latency_ms", "usage") if not isinstance(record.get(key), dict)]
    if record.get("settings") is not None and not isinstance(record.get("settings"), dict):
        missing.append("settings (as a mapping)")
    usage = record.get("usage") if isinstance(record.get("usage"), dict) else {}
    missing += [f"usage.{key}" for key, kind in (("requests", list), ("lambda", list))
                if usage.get(key) is not None and not isinstance(usage.get(key), kind)]
    latency = record.get("latency_ms") if isinstance(record.get("latency_ms"), dict) else {}
    missing += [f"latency_ms.{key}" for key in ("p50", "p95") if not _number(latency.get(key))]
    outcome = record.get("outcome") if isinstance(record.get("outcome"), dict) else {}
    if not _number(outcome.get("sent")) and not _number((record.get("settings") or {}).get("events")):
        missing.append("outcome.sent")
    return missing


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def load_runs(state_dir: Path | None = None) -> list[tuple[Path, dict]]:
    """Every run record, by file name; RunRecordError names the first file that cannot be used."""
    folder = runs_folder(state_dir)
    return [(path, load_run(path)) for path in sorted(folder.glob("*.json"))] if folder.is_dir() else []


def modelled_formula(record: dict) -> str | None:
    """The memory → CPU formula a modelled run stands on, or None when its CPU share was real."""
    cpu = record.get("cpu") or {}
    if not cpu.get("modelled"):
        return None
    if cpu.get("formula"):
        return str(cpu["formula"])
    memory = (record.get("settings") or {}).get("memory_mb")
    if not _number(memory):
        return f"vCPU = memory MB ÷ {LAMBDA_MB_PER_VCPU:,}"
    vcpu = cpu.get("vcpu") if _number(cpu.get("vcpu")) else memory / LAMBDA_MB_PER_VCPU
    return f"vCPU = {memory:,} MB ÷ {LAMBDA_MB_PER_VCPU:,} MB = {vcpu:.2f}"


def price_run(path: Path, record: dict, prices, target_ms: float) -> RunRow:
    lines = pricing.cost_lines(record["usage"], prices)
    outcome = record.get("outcome") or {}
    events = outcome.get("sent") if _number(outcome.get("sent")) else record["settings"]["events"]
    return RunRow(record=record, file=path, lines=lines, total_usd=pricing.total(lines), events=int(events),
                  meets_target=float(record["latency_ms"]["p95"]) <= target_ms, modelled=modelled_formula(record))


def dominates(a: RunRow, b: RunRow) -> bool:
    """a is at least as cheap and as fast as b, and strictly better in one of the two."""
    return (a.usd_per_million <= b.usd_per_million and a.p95 <= b.p95
            and (a.usd_per_million < b.usd_per_million or a.p95 < b.p95))


def mark_frontier(rows: list[RunRow]) -> None:
    """Marks the runs no other run dominates on (cost per million events, p95). Runs that tie on both
    are all on the frontier; a run with no events (no cost per million) is on no frontier."""
    priced = [row for row in rows if row.usd_per_million is not None]
    for row in rows:
        row.on_frontier = row in priced and not any(dominates(other, row) for other in priced if other is not row)


def read_aliases(path: Path = LAB_FOLDER / "experiments.yaml") -> dict[str, list[str]]:
    """{run name: [experiments it also stands for]} from experiments.yaml's `same_as` lists."""
    try:
        experiments = (yaml.safe_load(path.read_text()) or {}).get("experiments") or {}
    except (OSError, yaml.YAMLError, AttributeError):
        return {}
    return {name: [str(alias) for alias in spec["same_as"]] for name, spec in experiments.items()
            if isinstance(spec, dict) and isinstance(spec.get("same_as"), list)}


def read_choice(path: Path) -> str | None:
    """The run the learner named in choice.yaml (`experiment:`, or `name:`/`run:`/`choice:`), if any;
    the file's placeholder (TODO) is no choice yet."""
    try:
        chosen = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    if isinstance(chosen, dict):
        chosen = next((chosen[key] for key in ("experiment", "name", "run", "choice", "configuration")
                       if isinstance(chosen.get(key), str)), None)
    if not isinstance(chosen, str) or chosen.strip().upper() in ("", "TODO"):
        return None
    return chosen.strip()


def build(state_dir: Path | None = None, prices_file: Path | None = None, target_ms: float | None = None,
          choice_file: Path | None = None, experiments_file: Path = LAB_FOLDER / "experiments.yaml") -> Report:
    """The report of every recorded run, priced now. Raises RunRecordError or pricing.PriceError."""
    prices = pricing.load_prices(prices_file)
    target = latency_target_ms() if target_ms is None else target_ms
    rows = [price_run(path, record, prices, target) for path, record in load_runs(state_dir)]
    rows.sort(key=lambda row: natural_order(row.name))
    mark_frontier(rows)
    return Report(rows=rows, prices=prices, target_ms=target,
                  choice=read_choice(choice_file or CHOICE_FILE), aliases=read_aliases(experiments_file))

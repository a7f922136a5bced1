"""Lab 08's experiment catalogue (`labs/08-cost-performance/experiments.yaml`), read and checked.

Why this exists: the runner, the check and the bench all need the same list: each experiment's
name, the settings it runs with (the baseline with one setting changed), and the workload's size
and pace. A setting AWS would refuse (a batch above 10 without a window of at least 1 s, memory
outside 128-10,240 MB) is refused here with the reason, before anything is changed on the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from edalab import settings

CATALOGUE = settings.REPO_ROOT / "labs" / "08-cost-performance" / "experiments.yaml"
SETTING_KEYS = ("batch_size", "batching_window_s", "memory_mb", "polling")


class ExperimentError(ValueError):
    """The catalogue or a requested run cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Experiment:
    name: str
    about: str
    settings: dict          # batch_size, batching_window_s, memory_mb, polling

    def settings_key(self) -> tuple:
        return tuple(self.settings[key] for key in SETTING_KEYS)


@dataclass(frozen=True)
class Catalogue:
    events: int
    rate_per_s: float
    baseline: dict
    experiments: dict[str, Experiment]

    def find(self, name: str) -> Experiment:
        if name not in self.experiments:
            raise ExperimentError(f"there is no experiment {name!r}; the experiments are: {', '.join(self.experiments)}")
        return self.experiments[name]

    def distinct(self) -> list[list[Experiment]]:
        """The experiments grouped by the settings they run with (batch-10 = window-0 = …)."""
        groups: dict[tuple, list[Experiment]] = {}
        for experiment in self.experiments.values():
            groups.setdefault(experiment.settings_key(), []).append(experiment)
        return list(groups.values())


def aws_problems(values: dict) -> list[str]:
    """What AWS would refuse in these settings (the same rules as UpdateEventSourceMapping and
    UpdateFunctionConfiguration)."""
    problems = []
    batch, window, memory = values.get("batch_size"), values.get("batching_window_s"), values.get("memory_mb")
    if not isinstance(batch, int) or not 1 <= batch <= 10000:
        problems.append(f"batch_size {batch!r}: a whole number from 1 to 10,000")
    elif batch > 10 and (not isinstance(window, (int, float)) or window < 1):
        problems.append(f"batch_size {batch} needs batching_window_s of at least 1 (AWS refuses a batch above 10 "
                        "without a window)")
    if not isinstance(window, (int, float)) or not 0 <= window <= 300:
        problems.append(f"batching_window_s {window!r}: 0 to 300 seconds")
    if not isinstance(memory, int) or not 128 <= memory <= 10240:
        problems.append(f"memory_mb {memory!r}: a whole number from 128 to 10,240")
    if values.get("polling") not in ("long", "short"):
        problems.append(f"polling {values.get('polling')!r}: long or short")
    return problems


def load(path: Path = CATALOGUE) -> Catalogue:
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ExperimentError(f"cannot read {path}: {error}") from None
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k) or {}, dict)
                                            for k in ("workload", "baseline", "experiments")):
        raise ExperimentError(f"{path.name}: expected a mapping with workload:, baseline: and experiments: "
                              "(each a mapping of names to values); `git checkout` it to start again")
    workload, baseline = doc.get("workload") or {}, doc.get("baseline") or {}
    problems = [f"baseline: {p}" for p in aws_problems(baseline)]
    experiments: dict[str, Experiment] = {}
    for name, spec in (doc.get("experiments") or {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("change") or {}, dict):
            problems.append(f"{name}: expected about:, change: (a mapping of settings) and same_as: (a list)")
            continue
        values = {**baseline, **(spec.get("change") or {})}
        unknown = set(values) - set(SETTING_KEYS)
        if unknown:
            problems.append(f"{name}: unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(SETTING_KEYS)}")
            continue
        problems += [f"{name}: {p}" for p in aws_problems(values)]
        experiments[name] = Experiment(name, str(spec.get("about") or "").strip(), values)
        for alias in spec.get("same_as") or []:
            experiments[alias] = Experiment(alias, f"the same settings as {name}", values)
    if problems:
        raise ExperimentError(f"{path.name}: " + "; ".join(problems))
    try:
        events, rate = int(workload.get("events", 240)), float(workload.get("rate_per_s", 4))
    except (TypeError, ValueError):
        raise ExperimentError(f"{path.name}: workload's events must be a whole number and rate_per_s a number, "
                              f"not {workload.get('events')!r} and {workload.get('rate_per_s')!r}") from None
    return Catalogue(events, rate, dict(baseline), experiments)

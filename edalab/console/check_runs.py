"""A lab's check, run from the console's button: in the background, one run per lab at a time.

Why this exists: the lab page runs the same check as `make check`, and a check takes from one
second to minutes. The console must answer at once and show the run as it goes, so the run
happens in a thread of the console (`edalab.check_run.run_check`, the runner `make check`
uses) and keeps its events; the page polls `CheckRun.view()`, which words each step as the
terminal does (`edalab.check_printer`'s wording functions). Every event goes to the learner's
journal as `make check` journals it, so `make progress` and the Progress page count the run.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from edalab import check_printer
from edalab.check_run import run_check
from edalab.labs import Lab
from edalab.learner import LearnerRecord, learner_name


@dataclass
class CheckRun:
    lab: Lab
    learner: str
    started: float = field(default_factory=time.time)
    events: list[dict] = field(default_factory=list)
    finished: bool = False
    crashed: str | None = None  # the runner itself failed (e.g. check.py does not import)

    def listen(self, event: dict) -> None:
        self.events.append(event)  # list.append is atomic: the page reads while the thread appends

    def view(self) -> dict:
        """What the page shows: each step (title, verdict, time, waiting line, failure with its
        cause and hint) and the last line, in `make check`'s words."""
        return check_view(self.lab.number, list(self.events), len(self.lab.hints()), self.finished,
                          self.crashed, time.time() - self.started)


def check_view(lab: str, events: list[dict], hints_available: int, finished: bool = True,
               crashed: str | None = None, elapsed: float = 0.0) -> dict:
    steps: dict[int, dict] = {}
    passed, cleanup, last = 0, [], None
    for e in events:
        kind = e["event"]
        if kind == "check_started":
            steps = {s["number"]: {"number": s["number"], "title": s["title"], "status": "pending"} for s in e["steps"]}
        elif kind == "step_started":
            steps.setdefault(e["number"], {"number": e["number"], "title": e["title"]})["status"] = "running"
        elif kind == "waiting" and e["number"] in steps:
            steps[e["number"]]["waiting"] = check_printer.waiting_line(e)
        elif kind == "step_finished":
            passed += e["status"] == "passed"
            steps[e["number"]] = _finished_step(lab, e, hints_available)
        elif kind == "cleaned_up" and e["problem"]:
            cleanup.append(e["problem"])
        elif kind == "check_finished":
            last = {"passed": e["passed"], "line": check_printer.finished_line(e, passed, len(steps))}
    return {"lab": lab, "steps": [steps[n] for n in sorted(steps)], "cleanup_problems": cleanup,
            "finished": finished, "result": last, "crashed": crashed, "elapsed": elapsed}


def _finished_step(lab: str, e: dict, hints_available: int) -> dict:
    step = {"number": e["number"], "title": e["title"], "status": e["status"],
            "mark": {"passed": "✓", "failed": "✗", "skipped": "-"}[e["status"]],
            "took": check_printer.took_text(e), "message": [], "causes": [], "hint": None}
    if e["status"] == "skipped":
        step["message"] = [check_printer.skipped_line(e)]
    elif e["status"] == "failed":
        step["message"] = e["message"].splitlines()
        for cause in e.get("cause") or []:
            first, rest, log = check_printer.cause_lines(cause)
            step["causes"].append({"lines": [first, *rest], "log": log})
        if e.get("hint") and hints_available:
            step["hint"] = check_printer.hint_line(lab, e["hint"])
    return step


class CheckRuns:
    """The console's check runs: the latest per lab, at most one running per lab."""

    def __init__(self, endpoint: str, learners_folder: Path):
        self.endpoint = endpoint
        self.learners_folder = learners_folder
        self._latest: dict[str, CheckRun] = {}
        self._lock = threading.Lock()

    def latest(self, number: str) -> CheckRun | None:
        return self._latest.get(number)

    def start(self, lab: Lab) -> tuple[CheckRun, bool]:
        """(the run, True) when a new run started; (the running one, False) when one runs already."""
        with self._lock:
            current = self._latest.get(lab.number)
            if current is not None and not current.finished:
                return current, False
            run = CheckRun(lab, learner_name()[0])
            self._latest[lab.number] = run
        threading.Thread(target=self._run, args=(run,), name=f"check-{lab.number}", daemon=True).start()
        return run, True

    def _run(self, run: CheckRun) -> None:
        record = LearnerRecord(self.learners_folder, run.learner)

        def listen(event: dict) -> None:
            run.listen(event)
            record.journal(event)  # as `make check` does (edalab.loop.check)

        try:
            run_check(run.lab, self.endpoint, on_event=listen)
        except Exception as error:  # the page says so instead of spinning forever
            run.crashed = f"{type(error).__name__}: {error}"
        finally:
            run.finished = True

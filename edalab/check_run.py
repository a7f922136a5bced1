"""Runs a lab's check and tells, as it goes, what happens: one stream of events.

Why this exists: a check waits on asynchronous flows for seconds to minutes, and a learner
watching a silent terminal cannot tell a slow step from a hung one. The runner emits an event
when the check starts, when each step starts, on every poll of a wait (what is awaited, for
how long, the deadline), when each step ends (verdict, seconds, reason, the hint that fits, the
error a function logged), for each cleanup, and when the check ends. The terminal printer
(`edalab.check_printer`), the learner's journal (`edalab.learner`, read by `make progress` and
`make lab`) and, later, the console all read the same events: one source of truth.

Steps run in order. A step whose `needs` did not pass is skipped and says which step it waits
on; every other step runs even when an earlier one failed. Whatever a step hands to
`ctx.cleanup` is undone at the end, pass or fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from edalab import function_errors
from edalab.checks import CheckContext, CheckFailed, NeedsEarlierStep, Step
from edalab.labs import Lab

Event = dict
Listener = Callable[[Event], None]
WAIT_EVENT_EVERY_SECONDS = 1.0  # a wait reports at most this often, whatever its poll interval


@dataclass
class StepResult:
    number: int
    title: str
    status: str  # "passed", "failed", "skipped"
    message: str = ""
    hint: int | None = None
    seconds: float = 0.0
    cause: list[str] = field(default_factory=list)  # what the lab's functions logged as errors
    waits_on: int | None = None  # for a skipped step: the number of the step it needs


@dataclass
class Report:
    lab: str
    title: str
    results: list[StepResult] = field(default_factory=list)
    seconds: float = 0.0
    cleanup_problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.status == "passed" for r in self.results)

    @property
    def first_failure(self) -> StepResult | None:
        return next((r for r in self.results if r.status == "failed"), None)

    def to_json(self) -> dict:
        return {"lab": self.lab, "title": self.title, "passed": self.passed, "seconds": round(self.seconds, 2),
                "steps": [asdict(r) for r in self.results]}


def load_steps(lab: Lab) -> tuple[list[Step], frozenset[str]]:
    """The lab's steps in order, and the error types its check causes on purpose
    (`EXPECTED_ERRORS` in check.py: a poison order's, a transient failure's), which are not
    shown as the cause of a failure. A `needs` that names no earlier step is the check's bug."""
    module = lab.load_module("check.py")
    expected = frozenset(getattr(module, "EXPECTED_ERRORS", ()))
    steps = [obj.edalab_step for obj in vars(module).values() if hasattr(obj, "edalab_step")]
    for n, s in enumerate(steps):
        unknown = set(s.needs) - {earlier.name for earlier in steps[:n]}
        if unknown:
            raise ValueError(f"{lab.folder.name}/check.py: step {s.name} needs {sorted(unknown)}, not an earlier step")
    return steps, expected


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_check(lab: Lab, endpoint: str, on_event: Listener | None = None) -> Report:
    """Runs the lab's steps against the engine, emitting events to `on_event` as it goes."""
    emit = on_event or (lambda event: None)
    steps, expected_errors = load_steps(lab)
    started = time.monotonic()
    report = Report(lab.number, lab.title)
    emit({"event": "check_started", "lab": lab.number, "title": lab.title, "at": now_iso(),
          "steps": [{"number": n, "title": s.title} for n, s in enumerate(steps, start=1)]})
    current = {"number": 0, "last_wait": 0.0}

    def on_wait(what: str, elapsed: float, timeout: float) -> None:
        if time.monotonic() - current["last_wait"] >= WAIT_EVENT_EVERY_SECONDS:
            current["last_wait"] = time.monotonic()
            emit({"event": "waiting", "lab": lab.number, "number": current["number"], "what": what,
                  "elapsed": round(elapsed, 1), "timeout": round(timeout, 1)})

    ctx = CheckContext(lab, endpoint, on_wait)
    outcome_of: dict[str, StepResult] = {}
    number_of = {s.name: n for n, s in enumerate(steps, start=1)}
    try:
        for number, s in enumerate(steps, start=1):
            current.update(number=number, last_wait=0.0)
            blocked = next((need for need in s.needs if outcome_of.get(need) is None
                            or outcome_of[need].status != "passed"), None)
            if blocked is not None:
                waits_on = number_of.get(blocked)
                result = StepResult(number, s.title, "skipped", f"waits on step {waits_on}, which did not pass",
                                    s.hint, waits_on=waits_on)
            else:
                emit({"event": "step_started", "lab": lab.number, "number": number, "title": s.title, "at": now_iso()})
                result = _run_step(ctx, s, number, expected_errors)
            outcome_of[s.name] = result
            report.results.append(result)
            emit({"event": "step_finished", "lab": lab.number, "at": now_iso(), **asdict(result)})
    finally:  # also when the learner stops the check with Ctrl-C: leave nothing behind
        for what, undo in ctx.take_cleanups():
            problem = _undo(undo, what)
            if problem:
                report.cleanup_problems.append(problem)
            emit({"event": "cleaned_up", "lab": lab.number, "what": what, "problem": problem})
    report.seconds = time.monotonic() - started
    emit({"event": "check_finished", "lab": lab.number, "at": now_iso(), "passed": report.passed,
          "seconds": round(report.seconds, 2),
          "stopped_at": report.first_failure.number if report.first_failure else None})
    return report


def _run_step(ctx: CheckContext, s: Step, number: int, expected_errors: frozenset[str]) -> StepResult:
    began, began_ms = time.monotonic(), int(time.time() * 1000)

    def failed(message: str, hint: int | None) -> StepResult:
        cause = [e.describe() for e in function_errors.errors_since(ctx.lab.stack, ctx.endpoint, began_ms - 1000,
                                                                    expected_errors)]
        return StepResult(number, s.title, "failed", message, hint or s.hint, time.monotonic() - began, cause)

    try:
        s.run(ctx)
    except NeedsEarlierStep as failure:
        return StepResult(number, s.title, "skipped", str(failure), s.hint, time.monotonic() - began)
    except CheckFailed as failure:
        return failed(str(failure), failure.hint)
    except (ClientError, BotoCoreError) as error:
        return failed(f"the engine refused a request: {error}", None)
    except Exception as error:  # a check must never end in a traceback in front of a learner
        return failed(f"the check itself stumbled ({type(error).__name__}: {error}); `make deploy "
                      f"LAB={ctx.lab.number}` and run it again, and if it persists, tell your instructor", None)
    return StepResult(number, s.title, "passed", seconds=time.monotonic() - began)


def _undo(undo: Callable[[], object], what: str) -> str | None:
    try:
        undo()
    except Exception as error:  # cleanup is best effort; say what was left behind
        return f"could not remove {what}: {type(error).__name__}: {error}"
    return None

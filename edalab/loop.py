"""The learner loop: `make lab`, `check`, `hint`, `solution`, `deploy` and `progress`.

Why this exists: reading a step, doing it, finding out at once whether it worked and what is
missing, getting a hint when stuck: each is one command here, printing for a beginner.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import time

from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from edalab import labs, settings
from edalab.checks import Report, run_check
from edalab.learner import LearnerRecord

console = Console(highlight=False, soft_wrap=True)
_MARKS = {"passed": "[green]✓[/]", "failed": "[red]✗[/]", "not run": "[dim]·[/]"}


def print_report(report: Report, hints_available: int) -> None:
    console.print(f"[bold]Lab {report.lab} · {report.title}[/]")
    for r in report.results:
        console.print(f"  {_MARKS[r.status]} {r.number}. {r.title}")
        if r.status == "failed":
            for line in r.message.splitlines():
                console.print(f"       [red]{line}[/]")
            if r.hint and hints_available:
                console.print(f"       hint: `make hint LAB={report.lab}` (this step: hint {r.hint})")
    if report.passed:
        console.print(f"[green]Lab {report.lab} complete[/] ({report.seconds:.1f} s).")
    else:
        done = sum(r.status == "passed" for r in report.results)
        console.print(f"{done} of {len(report.results)} steps done.")


def check(lab_id: str, endpoint: str, quiet: bool = False) -> Report:
    lab = labs.find(lab_id)
    report = run_check(lab, endpoint)
    LearnerRecord().record_check(lab.number, report.to_json())
    if not quiet:
        print_report(report, len(lab.hints()))
    return report


def show_lab(lab_id: str, endpoint: str) -> None:
    lab = labs.find(lab_id)
    console.print(f"[bold]Lab {lab.number} · {lab.title}[/]\n{lab.goal}\n")
    console.print(f"Read: {lab.folder.relative_to(settings.REPO_ROOT)}/README.md")
    if lab.exercise_files:
        console.print("Edit: " + ", ".join(lab.exercise_files))
    report = check(lab_id, endpoint, quiet=True)
    console.print()
    print_report(report, len(lab.hints()))
    failure = report.first_failure
    if failure:
        console.print(f"\nNext: {failure.title}. When done: `make check LAB={lab.number}`.")
    else:
        following = [lb for lb in labs.all_labs() if lb.number > lab.number]
        if following:
            console.print(f"\nNext lab: `make lab LAB={following[0].number}` ({following[0].title}).")


def hint(lab_id: str) -> None:
    lab = labs.find(lab_id)
    hints = lab.hints()
    if not hints:
        console.print(f"Lab {lab.number} has no hints.")
        return
    record = LearnerRecord()
    already = record.hints_revealed(lab.number)
    if already >= len(hints):
        console.print(f"[dim]All {len(hints)} hints of lab {lab.number} are shown; the last one again:[/]")
        console.print(Markdown(hints[-1]))
        console.print(f"Still stuck? `make solution LAB={lab.number}` shows the reference solution.")
        return
    seen = record.reveal_hint(lab.number, len(hints))
    console.print(f"[dim]Hint {seen} of {len(hints)} for lab {lab.number}:[/]")
    console.print(Markdown(hints[seen - 1]))


def solution(lab_id: str, endpoint: str, apply: bool) -> None:
    lab = labs.find(lab_id)
    changed = False
    for rel in lab.exercise_files:
        mine, theirs = settings.REPO_ROOT / rel, lab.solution_dir / rel
        ours = mine.read_text().splitlines(keepends=True) if mine.exists() else []
        ref = theirs.read_text().splitlines(keepends=True)
        diff = list(difflib.unified_diff(ours, ref, f"yours: {rel}", f"solution: {rel}"))
        if diff:
            changed = True
            console.print("".join(diff), markup=False, highlight=False)
        if apply and diff:
            backup = settings.state_dir() / "backups" / time.strftime("%Y%m%d-%H%M%S") / rel
            backup.parent.mkdir(parents=True, exist_ok=True)
            if mine.exists():
                shutil.copy2(mine, backup)
                console.print(f"your version is saved as {backup}")
            shutil.copy2(theirs, mine)
    if lab.solution_script.exists():
        console.print(f"[bold]Commands of the solution[/] ({lab.solution_script.relative_to(settings.REPO_ROOT)}):")
        console.print(lab.solution_script.read_text(), markup=False, highlight=False)
    elif not changed:
        console.print("Your files already match the solution.")
    if not apply:
        console.print(f"Apply it with `make solution LAB={lab.number} APPLY=1` (your files are backed up first).")
        return
    outcome = labs.deploy(lab, endpoint)
    console.print(f"deployed {lab.stack.name}: {outcome}")
    if lab.solution_script.exists():
        run_solution_script(lab, endpoint)
    console.print(f"Now `make check LAB={lab.number}`.")


def run_solution_script(lab: labs.Lab, endpoint: str) -> None:
    """Runs the lab's solution commands with `awslocal` pointed at the engine."""
    host = endpoint.split("://", 1)[-1].rstrip("/")
    env = {**os.environ, "LOCALSTACK_HOST": host, "EDALAB_ENDPOINT": endpoint, "DISABLE_DEPRECATION_NOTICE": "1",
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": settings.REGION}
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    env["PATH"] = f"{settings.REPO_ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    subprocess.run(["bash", str(lab.solution_script)], env=env, check=True, cwd=settings.REPO_ROOT)


def deploy(lab_id: str, endpoint: str) -> None:
    lab = labs.find(lab_id)
    started = time.monotonic()
    outcome = labs.deploy(lab, endpoint)
    console.print(f"{lab.stack.name}: {outcome} in {time.monotonic() - started:.1f} s")
    if outcome == "unchanged" and not (lab.folder / "post_deploy.py").exists():
        console.print("(nothing changed since the last deploy: did you save the file?)")


def progress(fmt: str) -> None:
    summary = LearnerRecord().summary(labs.all_labs())
    if fmt == "json":
        print(json.dumps(summary, indent=2))
        return
    table = Table("lab", "title", "state", "last check", "hints seen", title=f"Progress of {summary['learner']}")
    for entry in summary["labs"]:
        last = entry["last_check"]
        if last is None:
            state, when = "[dim]not started[/]", ""
        elif last["passed"]:
            state, when = "[green]complete[/]", last["at"]
        else:
            state = f"[yellow]{last['steps_passed']}/{last['steps']} steps[/]: {last['failing_step']}"
            when = last["at"]
        table.add_row(entry["lab"], entry["title"], state, when, str(entry["hints_revealed"]))
    console.print(table)

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
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from edalab import hint_text, labs, settings
from edalab.check_printer import MARKS, CheckPrinter
from edalab.check_run import Report, run_check
from edalab.learner import LearnerRecord, ask_name_once

console = Console(highlight=False, soft_wrap=True)


def check(lab_id: str, endpoint: str) -> Report:
    """Runs the lab's check, printing each step as it starts and ends, and journals it."""
    lab = labs.find(lab_id)
    ask_name_once(say=lambda line: console.print(f"[dim]{escape(line)}[/]"))
    record = LearnerRecord()
    printer = CheckPrinter(console, len(lab.hints()))

    def listen(event: dict) -> None:
        printer(event)
        record.journal(event)

    try:
        return run_check(lab, endpoint, on_event=listen)
    finally:
        printer.close()


def show_lab(lab_id: str) -> None:
    """Where the learner stands in a lab and what to do next, from the last check and the
    learner's files; reads files only (no engine call, no check run), so it answers at once."""
    lab = labs.find(lab_id)
    record = LearnerRecord()
    console.print(f"[bold]Lab {lab.number} · {escape(lab.title)}[/]\n{escape(lab.goal)}\n")
    console.print(f"Read: {lab.folder.relative_to(settings.REPO_ROOT)}/README.md")
    runs = record.runs(lab.number)
    last = runs[-1] if runs else None
    last_at = _epoch(last["finished"]) if last else None
    changed = []
    for rel in lab.exercise_files:
        path = settings.REPO_ROOT / rel
        try:
            state = "still has its TODO" if "TODO" in path.read_text() else "edited"
        except OSError:
            console.print(f"Edit: {rel} ([red]missing[/]: `git checkout -- {rel}` brings the exercise back)")
            continue
        if last_at is not None and path.stat().st_mtime > last_at:
            state += ", changed since your last check"
            changed.append(rel)
        console.print(f"Edit: {rel} ({state})")
    if last is None:
        console.print(f"\nNot checked yet. Follow the README, then `make check LAB={lab.number}`.")
        return
    console.print(f"\nYour last check ({last['finished']}, attempt {len(runs)}):")
    for s in last["steps"]:
        console.print(f"  {MARKS[s['status']]} {s['number']}. {escape(s['title'])}")
    failure = next((s for s in last["steps"] if s["status"] == "failed"), None)
    if failure is None and not last["passed"]:  # nothing failed, yet not everything passed
        failure = next((s for s in last["steps"] if s["status"] != "passed"), None)
    if failure:
        console.print(f"\nNext: step {failure['number']}, {escape(failure['title'])}")
        console.print(f"  it said: [red]{escape(failure['message'].splitlines()[0] if failure['message'] else '')}[/]")
        if failure.get("hint") and lab.hints():
            console.print(f"  hint for it: `make hint LAB={lab.number} N={failure['hint']}`")
        then = f"`make deploy LAB={lab.number}`, then " if changed else ""
        console.print(f"  when done: {then}`make check LAB={lab.number}`")
        return
    if changed:
        console.print(f"\nComplete, but you changed {', '.join(changed)} since: `make deploy LAB={lab.number}` "
                      f"and `make check LAB={lab.number}` to be sure it still passes.")
        return
    following = [lb for lb in labs.all_labs() if lb.number > lab.number]
    if following:
        console.print(f"\nComplete. Next lab: `make lab LAB={following[0].number}` ({escape(following[0].title)}).")
    else:
        console.print("\nComplete: that was the last lab.")


def _epoch(iso: str) -> float:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def hint(lab_id: str, number: int | None = None) -> None:
    """Shows hint `number` (again, if it was revealed before), or reveals the next unseen one."""
    lab = labs.find(lab_id)
    hints = lab.hints()
    if not hints:
        console.print(f"Lab {lab.number} has no hints.")
        return
    record = LearnerRecord()
    seen = record.hints_seen(lab.number)
    if number is None:
        number = next((n for n in range(1, len(hints) + 1) if n not in seen), None)
        if number is None:
            console.print(f"You have seen all {len(hints)} hints of lab {lab.number}: show one again with "
                          f"`make hint LAB={lab.number} N=<1-{len(hints)}>`, or see the reference solution with "
                          f"`make solution LAB={lab.number}`.")
            return
    if not 1 <= number <= len(hints):
        raise labs.UnknownLab(f"lab {lab.number} has hints 1 to {len(hints)}; N={number} is not one of them")
    again = " (again)" if number in seen else ""
    record.reveal_hint(lab.number, number)
    console.print(f"[dim]Hint {number} of {len(hints)} for lab {lab.number}{again}:[/]")
    console.print(hint_text.render(hints[number - 1]), markup=False, highlight=False)
    left = [n for n in range(1, len(hints) + 1) if n not in record.hints_seen(lab.number)]
    if left:
        console.print(f"[dim]Next: `make hint LAB={lab.number}` (hint {left[0]}); any hint again: N=<number>.[/]")


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


def run_solution_script(lab: labs.Lab, endpoint: str, exercise_root: Path = settings.REPO_ROOT) -> None:
    """Runs the lab's solution commands with `awslocal` pointed at the engine. A solution that
    writes an exercise file (lab 08's choice, made from the runs it measured) writes it under
    `exercise_root` (EDALAB_EXERCISE_ROOT): the learner's repository, or a test's own folder."""
    host = endpoint.split("://", 1)[-1].rstrip("/")
    env = {**os.environ, "LOCALSTACK_HOST": host, "EDALAB_ENDPOINT": endpoint, "DISABLE_DEPRECATION_NOTICE": "1",
           "EDALAB_EXERCISE_ROOT": str(exercise_root),
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
    table = Table(title=f"Progress of {escape(summary['learner'])}")
    for name in ("lab", "title", "state", "attempts", "last check (UTC)", "hints"):
        table.add_column(name, no_wrap=name != "title")
    for entry in summary["labs"]:
        state = entry["state"]
        if state == "complete":
            took = entry["time_to_complete_seconds"]
            shown = "[green]complete[/]" + (f" in {took // 60} min" if took is not None else "")
        elif state == "in progress":
            passed = sum(s["status"] == "passed" for s in entry["last_steps"])
            shown = f"[yellow]{passed} of {len(entry['last_steps'])} steps[/]"
        else:
            shown = "[dim]not started[/]"
        hints = ", ".join(map(str, entry["hints_used"])) or ""
        when = (entry["last_check"] or "").replace("T", " ")[:16]
        table.add_row(entry["lab"], escape(entry["title"]), shown, str(entry["attempts"]), when, hints)
    console.print(table)
    console.print("[dim]`make progress FORMAT=json` adds when each lab was first checked and completed, and where "
                  "each failed attempt stopped.[/]")

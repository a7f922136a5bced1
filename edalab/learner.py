"""The learner's own record: every check run (as the runner's events), hints revealed, and
what an instructor wants to know from them.

Why this exists: `make hint` must remember which hints a learner has seen; `make lab` says
where a learner stands without running anything; `make progress` shows every lab's state,
and an instructor collecting a class wants, per lab, the attempts, when they started and
finished, how long it took, where each failed attempt stopped and the hints used. All of it
is derived from one journal, the events of every check run (`edalab.check_run`), appended to
a file per learner in the state folder (`.edalab/learners/`), apart from the engine's state, so
`make reset` and `make down` never lose it.

The learner's name: EDALAB_LEARNER, else git's `user.name`, else the name saved at the first
use (asked once, in a terminal), else the login name.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from edalab import settings

JOURNALED = {"check_started", "step_finished", "check_finished"}  # waits and cleanups are not kept


def _saved_name_file() -> Path:
    return settings.state_dir() / "learner-name"


def _git_user_name() -> str | None:
    try:
        done = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True, timeout=5,
                              cwd=settings.REPO_ROOT)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def learner_name() -> tuple[str, str]:
    """(name, where it came from)."""
    if os.environ.get("EDALAB_LEARNER"):
        return os.environ["EDALAB_LEARNER"], "EDALAB_LEARNER"
    git = _git_user_name()
    if git:
        return git, "git config user.name"
    try:
        saved = _saved_name_file().read_text().strip()
    except OSError:
        saved = ""
    if saved:
        return saved, str(_saved_name_file())
    return getpass.getuser(), "your login name"


def ask_name_once(say=print) -> str:
    """On first use with no name set: one line, and in a terminal a prompt to type it."""
    name, source = learner_name()
    if source != "your login name" or _saved_name_file().exists():
        return name
    _saved_name_file().parent.mkdir(parents=True, exist_ok=True)
    if sys.stdin.isatty():
        try:
            typed = input(f"Your name for progress reports (Enter keeps '{name}'): ").strip()
        except EOFError:  # Ctrl-D: keep the login name
            typed = ""
        name = typed or name
        _saved_name_file().write_text(name + "\n")
    else:
        _saved_name_file().write_text(name + "\n")
        say(f"Progress is recorded as '{name}' (your login name); set your own with "
            f"EDALAB_LEARNER=<name> or `git config --global user.name \"<name>\"`.")
    return name


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "learner"


class LearnerRecord:
    def __init__(self, folder: Path | None = None, name: str | None = None):
        self.name = name or learner_name()[0]
        self.folder = folder or settings.state_dir() / "learners"
        self.path = self.folder / f"{_slug(self.name)}.json"
        self.journal_path = self.folder / f"{_slug(self.name)}.checks.jsonl"
        try:
            self.data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            self.data = {"learner": self.name, "labs": {}}

    def _lab(self, number: str) -> dict:
        lab = self.data["labs"].setdefault(number, {})
        if "hints_seen" not in lab:  # records written before hints were kept by number
            lab["hints_seen"] = list(range(1, lab.pop("hints_revealed", 0) + 1))
        return lab

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2))
        tmp.replace(self.path)

    # -- hints -------------------------------------------------------------------------------
    def hints_seen(self, number: str) -> list[int]:
        return sorted(self._lab(number)["hints_seen"])

    def reveal_hint(self, number: str, hint: int) -> None:
        seen = self._lab(number)["hints_seen"]
        if hint not in seen:
            seen.append(hint)
            self.save()

    # -- drills (lab 09) ---------------------------------------------------------------------
    def record_drill(self, number: str, drill: str, started: str, recovered: str, seconds: float,
                     messages: int) -> None:
        """Keeps one drill's time to recover: from `make drill` to the check that found service
        healthy and every message accounted for."""
        self._lab(number).setdefault("drills", []).append(
            {"drill": drill, "started": started, "recovered": recovered, "seconds": round(seconds, 1),
             "messages": messages})
        self.save()

    def drills(self, number: str) -> list[dict]:
        return list(self._lab(number).get("drills", []))

    # -- checks ------------------------------------------------------------------------------
    def journal(self, event: dict) -> None:
        """Appends one of a check run's events (a listener for `run_check`)."""
        if event["event"] not in JOURNALED:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.journal_path.open("a") as out:
            out.write(json.dumps(event) + "\n")

    def runs(self, number: str | None = None) -> list[dict]:
        """Every finished check run (of one lab, or all), oldest first: its start, end,
        verdict, and each step's result."""
        runs, open_runs = [], {}
        try:
            lines = self.journal_path.read_text().splitlines()
        except FileNotFoundError:
            return []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line cut by a killed run
            lab = event.get("lab")
            if number is not None and lab != number:
                continue
            if event["event"] == "check_started":
                open_runs[lab] = {"lab": lab, "started": event["at"], "steps": []}
            elif event["event"] == "step_finished" and lab in open_runs:
                open_runs[lab]["steps"].append(event)
            elif event["event"] == "check_finished" and lab in open_runs:
                run = open_runs.pop(lab)
                run.update(finished=event["at"], passed=event["passed"], seconds=event["seconds"])
                runs.append(run)
        return runs

    def lab_summary(self, number: str) -> dict:
        """What an instructor wants of one lab: attempts, when, time to complete, where each
        failed attempt stopped, hints used, and the last check's steps."""
        runs = self.runs(number)
        first_pass = next((r for r in runs if r["passed"]), None)
        summary = {
            "attempts": len(runs),
            "first_check": runs[0]["started"] if runs else None,
            "last_check": runs[-1]["finished"] if runs else None,
            "completed": first_pass["finished"] if first_pass else None,
            "time_to_complete_seconds": (_seconds_between(runs[0]["started"], first_pass["finished"])
                                         if first_pass else None),
            "failed_attempts": [
                {"at": r["started"], "stopped_at": _first_failed(r)} for r in runs if not r["passed"]],
            "hints_used": self.hints_seen(number),
            "drills": self.drills(number),
            "state": "complete" if runs and runs[-1]["passed"] else ("in progress" if runs else "not started"),
            "last_steps": [{k: s[k] for k in ("number", "title", "status", "message", "hint")}
                           for s in runs[-1]["steps"]] if runs else [],
        }
        return summary

    def summary(self, labs: list) -> dict:
        return {
            "learner": self.name,
            "host": socket.gethostname(),
            "labs": [{"lab": lab.number, "title": lab.title, **self.lab_summary(lab.number)} for lab in labs],
        }


def _first_failed(run: dict) -> str | None:
    failed = next((s for s in run["steps"] if s["status"] == "failed"), None)
    return f"{failed['number']}. {failed['title']}" if failed else None


def _seconds_between(start: str, end: str) -> int:
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return int((datetime.strptime(end, fmt) - datetime.strptime(start, fmt)).total_seconds())

"""The learner's own record: hints revealed and the last check of each lab.

Why this exists: `make hint` reveals one hint at a time and must remember how many a learner
has seen; `make progress` shows every lab's state, and an instructor collecting a class wants
it as JSON. The record is a small file per learner in the state folder (`.edalab/`), apart from
the engine's state, so `make reset` and `make down` never lose it.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
from pathlib import Path

from edalab import settings


def learner_name() -> str:
    return os.environ.get("EDALAB_LEARNER") or getpass.getuser()


class LearnerRecord:
    def __init__(self, path: Path | None = None):
        self.path = path or settings.state_dir() / "learners" / f"{learner_name()}.json"
        try:
            self.data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            self.data = {"learner": learner_name(), "labs": {}}

    def _lab(self, number: str) -> dict:
        return self.data["labs"].setdefault(number, {"hints_revealed": 0, "last_check": None})

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2))
        tmp.replace(self.path)

    def hints_revealed(self, number: str) -> int:
        return self._lab(number)["hints_revealed"]

    def reveal_hint(self, number: str, available: int) -> int:
        """Counts one more hint as seen (up to `available`); returns how many are seen."""
        lab = self._lab(number)
        lab["hints_revealed"] = min(lab["hints_revealed"] + 1, available)
        self.save()
        return lab["hints_revealed"]

    def record_check(self, number: str, report: dict) -> None:
        failure = next((s for s in report["steps"] if s["status"] == "failed"), None)
        self._lab(number)["last_check"] = {
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "passed": report["passed"],
            "steps_passed": sum(s["status"] == "passed" for s in report["steps"]),
            "steps": len(report["steps"]),
            "failing_step": failure["title"] if failure else None,
        }
        self.save()

    def summary(self, labs: list) -> dict:
        return {
            "learner": self.data.get("learner", learner_name()),
            "host": socket.gethostname(),
            "labs": [
                {"lab": lab.number, "title": lab.title, **self._lab(lab.number)}
                for lab in labs
            ],
        }

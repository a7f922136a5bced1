"""What a lab is on disk, and deploying one.

Why this exists: every command of the learner loop (lab, check, hint, solution, deploy) and
the tests need the same facts about a lab folder:

    labs/NN-name/
      README.md       the text the learner follows
      lab.yaml        title, goal, the files the learner edits
      template.yaml   the lab's resources (CloudFormation), deployed by bootstrap
      hints.md        hints, one `## ` section each, revealed one at a time
      check.py        the steps `make check` verifies
      solution/files/ the reference version of each exercise file, at its repository path
      solution/apply.sh  (optional) commands that complete a CLI exercise
      post_deploy.py  (optional) `apply(endpoint, root)`: applies exercise files that are not
                      code (a filter policy, an event pattern) after the stack is deployed
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from edalab import bootstrap, settings
from edalab.exercise_validation import ExerciseRejected

LABS_DIR = settings.REPO_ROOT / "labs"


class UnknownLab(ValueError):
    pass


@dataclass
class Lab:
    folder: Path
    title: str
    goal: str
    exercise_files: list[str] = field(default_factory=list)

    @property
    def number(self) -> str:
        return self.folder.name.split("-", 1)[0]

    @property
    def stack(self) -> bootstrap.Stack:
        return bootstrap.Stack(bootstrap.STACK_PREFIX + self.folder.name, self.folder / "template.yaml")

    @property
    def solution_dir(self) -> Path:
        return self.folder / "solution" / "files"

    @property
    def solution_script(self) -> Path:
        return self.folder / "solution" / "apply.sh"

    def hints(self) -> list[str]:
        path = self.folder / "hints.md"
        if not path.exists():
            return []
        sections = re.split(r"^## ", path.read_text(), flags=re.MULTILINE)[1:]
        return ["## " + s.strip() for s in sections]

    def load_module(self, filename: str):
        """Imports one of the lab's Python files (check.py, post_deploy.py) by path."""
        spec = importlib.util.spec_from_file_location(f"edalab_lab{self.number}_{Path(filename).stem}",
                                                      self.folder / filename)
        module = importlib.util.module_from_spec(spec)
        # registered before it runs, as `import` does: a dataclass in the file looks its module up
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module

    def solution_handler_dirs(self) -> dict[str, Path]:
        """Handler folder name -> the solution's version of it (for deploying the solution)."""
        handlers = self.solution_dir / "handlers"
        return {p.name: p for p in handlers.iterdir() if p.is_dir()} if handlers.is_dir() else {}


def _load(folder: Path) -> Lab:
    meta = yaml.safe_load((folder / "lab.yaml").read_text())
    return Lab(folder, meta["title"], meta.get("goal", "").strip(), list(meta.get("exercise") or []))


def all_labs() -> list[Lab]:
    return [_load(f) for f in sorted(LABS_DIR.iterdir()) if (f / "lab.yaml").is_file()]


def find(lab_id: str | None) -> Lab:
    """A lab by number ('1', '01') or folder name; the message lists the choices."""
    labs = all_labs()
    if lab_id:
        wanted = lab_id.strip()
        for lab in labs:
            if wanted in (lab.folder.name, lab.number) or (wanted.isdigit() and int(wanted) == int(lab.number)):
                return lab
    choices = ", ".join(f"{lab.number} ({lab.title})" for lab in labs)
    given = f"'{lab_id}' is not a lab" if lab_id else "Say which lab"
    raise UnknownLab(f"{given}: use LAB=NN, one of {choices}")


def deploy(
    lab: Lab,
    endpoint: str | None = None,
    *,
    solution: bool = False,
    parameters: dict | None = None,
    say: Callable[[str], None] = print,
) -> str:
    """Deploys the lab's stack with the learner's files (or the solution's)."""
    sources = lab.solution_handler_dirs() if solution else {}
    outcome = bootstrap.deploy_stack(lab.stack, endpoint, handler_sources=sources, parameters=parameters)
    run_post_deploy(lab, endpoint, solution, say)
    return outcome


def run_post_deploy(lab: Lab, endpoint: str | None, solution: bool = False, say: Callable[[str], None] = print) -> None:
    """Applies the lab's exercise files that are not code. Raises `ExerciseRejected` (a
    `DeployError`, so the command exits 1 with the reasons) when one is invalid or refused."""
    if (lab.folder / "post_deploy.py").exists():
        lab.load_module("post_deploy.py").apply(endpoint, lab.solution_dir if solution else settings.REPO_ROOT, say)


def deploy_all(endpoint: str | None = None, progress: Callable[[str, str], None] = lambda n, o: None,
               parameters: dict | None = None, found: list[Lab] | None = None) -> dict[str, str]:
    """Every lab's stack (in parallel), then each lab's post-deploy step with the learner's files.
    `found` is the labs to deploy, when the caller has listed them already.
    One learner file that is refused does not stop the others (an instructor's `make reset` of a
    class must not fail on one draft): its reasons go to `progress` as a warning, and the lab's
    own `make deploy LAB=NN` is where it fails."""
    found = all_labs() if found is None else found
    outcomes = bootstrap.deploy_all(endpoint, [lab.stack for lab in found], progress, parameters)
    for lab in found:
        try:
            run_post_deploy(lab, endpoint, say=lambda text: progress(lab.stack.name, text))
        except ExerciseRejected as rejected:
            progress(lab.stack.name, "WARNING: " + str(rejected).replace("\n", "\n    "))
    return outcomes

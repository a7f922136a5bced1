"""Records lab 08's exercise, the learner's choice in choice.yaml, on the engine.

Why this exists: the exercise is a file, not code, and `make check LAB=08` reads the choice from
the engine (an SSM parameter, `/edalab/lab08/choice`), the way lab 03's filter policy is applied
by `make deploy LAB=03`: so the check always checks what was deployed, and the reference
solution's choice is checked the same way. A file still holding its TODO records nothing (the
check says what is missing); a choice naming an experiment that does not exist, or with no
reason given, stops the deploy with the reason.
"""

import json
from pathlib import Path

import yaml

from edalab import aws
from edalab.cost import experiments
from edalab.exercise_validation import ExerciseRejected

LAB = "08"
CHOICE_FILE = Path("labs/08-cost-performance/choice.yaml")
PARAMETER = "/edalab/lab08/choice"


def read_choice(path: Path) -> dict | None:
    """{"experiment": name, "why": text}, None while the file holds its TODO; ExerciseRejected when unusable."""
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        return None
    except yaml.YAMLError as error:
        raise ExerciseRejected(LAB, [f"choice.yaml is not valid YAML: {error}"]) from None
    if not isinstance(doc, dict):
        raise ExerciseRejected(LAB, ["choice.yaml must hold two lines: `experiment: <name>` and `why: <one line>`"])
    name, why = str(doc.get("experiment") or "").strip(), str(doc.get("why") or "").strip()
    if name in ("", "TODO"):
        return None
    try:
        names = experiments.load().experiments
    except experiments.ExperimentError as error:
        raise ExerciseRejected(LAB, [str(error)]) from None
    reasons = []
    if name not in names:
        reasons.append(f"choice.yaml names {name!r}, which is not an experiment; the experiments are: {', '.join(names)}")
    if why in ("", "TODO"):
        reasons.append("choice.yaml says no why: write one line on what makes your choice the cheapest that meets "
                       "the target")
    if reasons:
        raise ExerciseRejected(LAB, reasons)
    return {"experiment": name, "why": why}


def apply(endpoint, root: Path, say) -> None:
    choice = read_choice(root / CHOICE_FILE)
    ssm = aws.client("ssm", endpoint)
    if choice is None:
        try:
            ssm.delete_parameter(Name=PARAMETER)
        except ssm.exceptions.ParameterNotFound:
            pass
        say("choice.yaml still says `experiment: TODO`: no choice recorded (run the experiments, then write yours)")
        return
    ssm.put_parameter(Name=PARAMETER, Value=json.dumps(choice), Type="String", Overwrite=True)
    say(f"your choice: {choice['experiment']} ({choice['why']})")

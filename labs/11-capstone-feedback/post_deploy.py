"""Deploys lab 11's pipeline from another copy of template.yaml (the reference solution's, or a test's).

Why this exists: in this lab the exercise is the template itself (the learner adds the queue,
its DLQ, the event source mapping and the DLQ alarm between marked lines). `make deploy` and
`make up` deploy the learner's `labs/11-capstone-feedback/template.yaml` as every lab does;
when the deploy is of the solution (or of a test's near miss), the loop hands this step a
folder holding that version's files, and the stack is deployed again from its template, with
its handlers and the stack's current settings (e.g. the tests' short visibility timeout).
With the learner's own files there is nothing more to do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edalab import aws, bootstrap

LAB_FOLDER = Path(__file__).resolve().parent
TEMPLATE = Path("labs") / LAB_FOLDER.name / "template.yaml"
STACK = bootstrap.STACK_PREFIX + LAB_FOLDER.name


def _current_settings(endpoint: str | None, code_parameters: set[str]) -> dict[str, str]:
    """The stack's parameter values other than where its code is (those are uploaded again)."""
    stack = aws.client("cloudformation", endpoint).describe_stacks(StackName=STACK)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])
            if p["ParameterKey"] not in code_parameters | {"CodeBucket"} and "ParameterValue" in p}


def apply(endpoint: str | None, root: Path, say: Callable[[str], None] = print) -> None:
    template = Path(root) / TEMPLATE
    mine = LAB_FOLDER / "template.yaml"
    if not template.is_file() or template.resolve() == mine or template.read_text() == mine.read_text():
        return
    stack = bootstrap.Stack(STACK, template)
    handlers = Path(root) / "handlers"
    sources = {p.name: p for p in handlers.iterdir() if p.is_dir()} if handlers.is_dir() else {}
    settings = _current_settings(endpoint, set(stack.handler_parameters()))
    outcome = bootstrap.deploy_stack(stack, endpoint, handler_sources=sources, parameters=settings)
    say(f"deployed {STACK} from {template}: {outcome}")

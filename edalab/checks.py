"""The framework behind `make check`: a lab's check is a list of steps run against the engine.

Why this exists: a learner needs to know, at once, whether a step worked and, if not, exactly
what is missing (which resource, which attribute, which event did not arrive) and which hint
helps. Each lab's `check.py` declares its steps with `@step`; this module loads them, runs
them in order against the running engine, stops at the first that fails (later steps build on
it), and produces a report the CLI prints and the learner record keeps.

    from edalab.checks import CheckFailed, step

    @step("The table edalab-items exists", hint=1)
    def table_exists(ctx):
        if "edalab-items" not in ctx.client("dynamodb").list_tables()["TableNames"]:
            raise CheckFailed("no table named edalab-items: deploy the lab with `make deploy LAB=01`")
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from botocore.exceptions import BotoCoreError, ClientError

from edalab import aws, bootstrap
from edalab.labs import Lab
from edalab.waiting import WaitTimedOut, wait_for


class CheckFailed(AssertionError):
    """A step's verdict: what is missing, said for the learner."""


@dataclass
class Step:
    title: str
    run: Callable[[CheckContext], None]
    hint: int | None = None


def step(title: str, hint: int | None = None):
    """Marks a function of a lab's check.py as a step; steps run in the order they appear."""

    def mark(fn):
        fn.edalab_step = Step(title, fn, hint)
        return fn

    return mark


@dataclass
class StepResult:
    number: int
    title: str
    status: str  # "passed", "failed", "not run"
    message: str = ""
    hint: int | None = None


@dataclass
class Report:
    lab: str
    title: str
    results: list[StepResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.status == "passed" for r in self.results)

    @property
    def first_failure(self) -> StepResult | None:
        return next((r for r in self.results if r.status == "failed"), None)

    def to_json(self) -> dict:
        return {
            "lab": self.lab,
            "title": self.title,
            "passed": self.passed,
            "seconds": round(self.seconds, 2),
            "steps": [r.__dict__ for r in self.results],
        }


@dataclass
class HttpReply:
    status: int
    body: object  # parsed JSON, or the text when it is not JSON
    text: str


def http(method: str, url: str, body: object = None, raw: bytes | None = None) -> HttpReply:
    """One HTTP request with a JSON body (or `raw` bytes); any status comes back as a reply."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        parsed = json.loads(text) if text else None
    except json.JSONDecodeError:
        parsed = text
    return HttpReply(status, parsed, text)


def json_log_lines(logs, function_name: str) -> list[dict]:
    """Every JSON-object line a function logged (all pages), oldest first. Callers filter in
    Python: LocalStack's filter-log-events ignores filterPattern."""
    lines, kwargs = [], {}
    while True:
        page = logs.filter_log_events(logGroupName=f"/aws/lambda/{function_name}", **kwargs)
        for event in page["events"]:
            try:
                line = json.loads(event["message"])
            except ValueError:
                continue
            if isinstance(line, dict):
                lines.append(line)
        if not page.get("nextToken"):
            return lines
        kwargs = {"nextToken": page["nextToken"]}


class CheckContext:
    """What a step may use: clients for the engine, the lab's stack outputs, HTTP, waiting."""

    def __init__(self, lab: Lab, endpoint: str):
        self.lab = lab
        self.endpoint = endpoint

    def client(self, service: str):
        return aws.client(service, self.endpoint)

    @cached_property
    def outputs(self) -> dict[str, str]:
        try:
            return bootstrap.stack_outputs(self.lab.stack.name, self.endpoint)
        except ClientError:
            raise CheckFailed(
                f"the lab's stack {self.lab.stack.name} is not deployed: run `make up` "
                f"(or `make deploy LAB={self.lab.number}`)"
            ) from None

    def api_url(self, api_id: str, stage: str, path: str) -> str:
        return f"{self.endpoint}/_aws/execute-api/{api_id}/{stage}/{path.lstrip('/')}"

    def http(self, method: str, url: str, body: object = None, raw: bytes | None = None) -> HttpReply:
        return http(method, url, body, raw)

    def wait_for(self, probe, *, what: str, timeout: float = 30.0, interval: float = 0.2, until=bool):
        """Polls like edalab.waiting.wait_for, but a timeout becomes a failed step naming `what`."""
        try:
            return wait_for(probe, what=what, timeout=timeout, interval=interval, until=until)
        except WaitTimedOut as error:
            raise CheckFailed(str(error)) from None


def load_steps(lab: Lab) -> list[Step]:
    module = lab.load_module("check.py")
    return [obj.edalab_step for obj in vars(module).values() if hasattr(obj, "edalab_step")]


def run_check(lab: Lab, endpoint: str) -> Report:
    """Runs the lab's steps in order; the first failure stops the run."""
    started = time.monotonic()
    report = Report(lab.number, lab.title)
    ctx = CheckContext(lab, endpoint)
    failed = False
    for number, s in enumerate(load_steps(lab), start=1):
        if failed:
            report.results.append(StepResult(number, s.title, "not run", hint=s.hint))
            continue
        try:
            s.run(ctx)
            report.results.append(StepResult(number, s.title, "passed"))
        except CheckFailed as failure:
            failed = True
            report.results.append(StepResult(number, s.title, "failed", str(failure), s.hint))
        except (ClientError, BotoCoreError) as error:
            failed = True
            report.results.append(
                StepResult(number, s.title, "failed", f"the engine refused a request: {error}", s.hint)
            )
    report.seconds = time.monotonic() - started
    return report

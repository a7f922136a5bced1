"""What a lab's `check.py` is written with: steps, their verdicts, and the context they use.

Why this exists: a learner needs to know, at once, whether a step worked and, if not, exactly
what is missing (which resource, which order, which event did not arrive) and which hint helps.
Each lab's `check.py` declares its steps with `@step`; `edalab.check_run` runs them and streams
what happens. A step that builds on another names it in `needs`, so an unrelated failure never
hides it; a failure can name the hint that fits it; what a step creates it hands to
`ctx.cleanup`, so a check leaves nothing behind.

    from edalab.checks import CheckFailed, step

    @step("The table edalab-items exists", hint=1)
    def table_exists(ctx):
        if "edalab-items" not in ctx.client("dynamodb").list_tables()["TableNames"]:
            raise CheckFailed("no table named edalab-items: deploy the lab with `make deploy LAB=01`")

    @step("An item can be written", needs=[table_exists])
    def write(ctx):
        ctx.client("dynamodb").put_item(...)
        ctx.cleanup(lambda: ctx.client("dynamodb").delete_item(...), "the item the check wrote")
        if ...:
            raise CheckFailed("...", hint=2)   # hint 2 fits this way of failing
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from botocore.exceptions import ClientError

from edalab import aws, bootstrap
from edalab.function_logs import log_messages
from edalab.http_call import HttpReply, http  # noqa: F401 - checks and tests import http from here
from edalab.labs import Lab
from edalab.queue_cleanup import remove_messages
from edalab.queue_peek import PeekFailed, QueueMessage, queue_messages
from edalab.waiting import WaitTimedOut, wait_for


class CheckFailed(AssertionError):
    """A step's verdict: what is missing, said for the learner, and the hint that fits it
    (when it is not the step's own)."""

    def __init__(self, message: str, hint: int | None = None):
        super().__init__(message)
        self.hint = hint


class NeedsEarlierStep(CheckFailed, AttributeError):
    """A step read something an earlier step sets, and that step did not pass. Also an
    AttributeError, so `getattr(ctx, name, default)` and `hasattr` work as usual."""


@dataclass
class Step:
    title: str
    run: Callable[[CheckContext], None]
    hint: int | None = None
    needs: tuple[str, ...] = ()  # names of the step functions this one builds on

    @property
    def name(self) -> str:
        return self.run.__name__


def step(title: str, hint: int | None = None, needs: list | tuple = ()):
    """Marks a function of a lab's check.py as a step; steps run in the order they appear.
    `needs` lists the earlier steps (functions or names) this one builds on: it runs only
    when they passed, and says which one it waits on when they did not. A step with no
    `needs` runs whatever happened before it."""

    def mark(fn):
        names = tuple(n if isinstance(n, str) else n.__name__ for n in needs)
        fn.edalab_step = Step(title, fn, hint, names)
        return fn

    return mark


def json_log_lines(logs, function_name: str) -> list[dict]:
    """Every JSON-object line a function logged (all pages), oldest first. Callers filter in
    Python, which answers the same whether or not the engine honours filterPattern."""
    lines = []
    for message in log_messages(logs, function_name):
        try:
            line = json.loads(message)
        except ValueError:
            continue
        if isinstance(line, dict):
            lines.append(line)
    return lines


class CheckContext:
    """What a step may use: clients for the engine, the lab's stack outputs, HTTP, waiting
    (which the runner shows live), and `cleanup` for what the step creates.

    Steps pass values to later steps as attributes (`ctx.item_id = ...`); reading one that no
    step has set means the step that sets it did not pass, and says so."""

    def __init__(self, lab: Lab, endpoint: str, on_wait: Callable[[str, float, float], None] | None = None):
        self.lab = lab
        self.endpoint = endpoint
        self._on_wait = on_wait or (lambda what, elapsed, timeout: None)
        self._cleanups: list[tuple[str, Callable[[], object]]] = []

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise NeedsEarlierStep(f"this step builds on `{name}`, which an earlier step sets, and that step "
                               "did not pass: fix the first failing step above")

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

    def output(self, key: str) -> str:
        """One stack output, or a failed step saying the stack is out of date."""
        try:
            return self.outputs[key]
        except KeyError:
            raise CheckFailed(f"the lab's stack has no output {key}: redeploy it with "
                              f"`make deploy LAB={self.lab.number}`") from None

    def api_url(self, api_id: str, stage: str, path: str) -> str:
        return f"{self.endpoint}/_aws/execute-api/{api_id}/{stage}/{path.lstrip('/')}"

    def http(self, method: str, url: str, body: object = None, raw: bytes | None = None) -> HttpReply:
        return http(method, url, body, raw)

    def remove_messages(self, queue_url: str, ours: str | Callable[[str], bool]) -> int:
        """Deletes the check's messages from the queue: those whose body holds `ours` (a run id)
        or for which `ours(body)` is true. The learner's own messages are left as they were
        (see edalab.queue_cleanup)."""
        is_ours = ours if callable(ours) else (lambda body: ours in body)
        return remove_messages(self.client("sqs"), queue_url, is_ours)

    def queue_messages(self, queue_url: str) -> list[QueueMessage]:
        """Every message on the queue, visible or in flight, without receiving (hiding) any,
        so neither the learner's own looks nor the check's disturb the other."""
        try:
            return queue_messages(self.endpoint, queue_url)
        except PeekFailed as error:
            raise CheckFailed(str(error)) from None

    def cleanup(self, undo: Callable[[], object], what: str) -> None:
        """Registers how to remove something this check created; the runner calls every
        registered undo at the end (newest first), whether the check passed or not."""
        self._cleanups.append((what, undo))

    def take_cleanups(self) -> list[tuple[str, Callable[[], object]]]:
        """The registered undos, newest first, handed over once."""
        found, self._cleanups = list(reversed(self._cleanups)), []
        return found

    def wait_for(self, probe, *, what: str, timeout: float = 30.0, interval: float = 0.2, until=bool,
                 missing: Callable[[object], str] | None = None):
        """Polls like edalab.waiting.wait_for, reporting each poll to the runner (the live
        line); a timeout becomes a failed step naming `what` and, when `missing` is given,
        what is still missing (`missing(last result)` -> "payment p3, payment p7")."""
        started = time.monotonic()

        def reported():
            result = probe()
            self._on_wait(what, time.monotonic() - started, timeout)
            return result

        try:
            return wait_for(reported, what=what, timeout=timeout, interval=interval, until=until)
        except WaitTimedOut as error:
            if missing is None:
                raise CheckFailed(str(error)) from None
            raise CheckFailed(f"waited {timeout:.0f} s for {what}; still missing: {missing(error.last)}") from None

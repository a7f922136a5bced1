"""The last error a lab's functions logged, pointed at the learner's own file and line.

Why this exists: when a check fails because a handler raised, what the check sees is only a
symptom ("answered 502", "no charge arrived"); the cause is in the function's log group. A
learner should not have to know where that is. After a failed step the check runner asks this
module for the errors each of the lab's functions logged while the step ran, and prints the
error's type and message with the deepest frame of the learner's code (`handlers/<name>/...`).

It reads the three shapes an error takes in a Lambda log group:
  [ERROR] AttributeError: 'dict' object has no attribute 'x'\\rTraceback ...   (the runtime, unhandled)
  {"level": "ERROR", ..., "exception": "Traceback ...", "exception_name": ...}  (Powertools Logger)
  ... Task timed out after 2.00 seconds                                          (the platform)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from edalab import aws, settings
from edalab.bootstrap import CloudFormationLoader, Stack
from edalab.function_logs import log_messages

# a frame of a Python stack trace: File "<path>", line N, in <function>
_FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)')
_TRACEBACK = "Traceback (most recent call last):"
# the last line of a traceback: `AttributeError: 'SQSRecord' object has no attribute 'bodyy'`
_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*): (?P<message>.*)$")
_RECORD_STARTS = ("START ", "END ", "REPORT ", "INIT_", "[ERROR]", "[WARNING]", "[INFO]", "[DEBUG]")
# where a function's zip is unpacked: the host engine's .../<function>-<id>/code/app.py, or
# /var/task/app.py in a Lambda container (the container engine, and AWS)
_CODE_DIRS = ("/code/", "/var/task/")


@dataclass
class FunctionError:
    function: str
    handler_dir: str | None  # e.g. "handlers/payment_processor", when the template says which
    error_type: str
    message: str
    file: str | None = None  # the learner's file of the deepest frame in the function's own code
    line: int | None = None
    code: str | None = None  # that line's text
    trace: list[str] = field(default_factory=list, repr=False)

    def describe(self) -> str:
        where = f"\n  at {self.file}, line {self.line}" if self.file else ""
        if where and self.code:
            where += f": {self.code.strip()}"
        return f"{self.function} failed with {self.error_type}: {self.message}{where}"


def lab_functions(stack: Stack, endpoint: str) -> dict[str, str | None]:
    """Each deployed function of a lab's stack -> its handler folder (`handlers/<name>`), from
    the template's `Code: S3Key: !Ref <Parameter>` and its `Metadata.EdaLab.Handlers` map."""
    doc = yaml.load(stack.body, Loader=CloudFormationLoader)
    handlers = stack.handler_parameters()
    folder_of = {}
    for logical_id, resource in (doc.get("Resources") or {}).items():
        if resource.get("Type") == "AWS::Lambda::Function":
            key = ((resource.get("Properties") or {}).get("Code") or {}).get("S3Key")
            parameter = key.get("Ref") if isinstance(key, dict) else None
            folder_of[logical_id] = f"handlers/{handlers[parameter]}" if parameter in handlers else None
    cfn = aws.client("cloudformation", endpoint)
    found = cfn.describe_stack_resources(StackName=stack.name)["StackResources"]
    return {r["PhysicalResourceId"]: folder_of[r["LogicalResourceId"]]
            for r in found if r["LogicalResourceId"] in folder_of and r.get("PhysicalResourceId")}


def errors_since(stack: Stack, endpoint: str, since_ms: int, expected: frozenset[str] = frozenset()) -> list[FunctionError]:
    """The last error each of the stack's functions logged at or after `since_ms`, if any,
    leaving out the error types in `expected` (the ones a check causes on purpose, such as a
    poison order's). Never raises: this is a diagnosis added to a failure, not a step of its own."""
    try:
        functions = lab_functions(stack, endpoint)
    except Exception:  # noqa: BLE001 - no diagnosis is better than a traceback in front of a learner
        return []
    logs = aws.client("logs", endpoint)
    found = []
    for function, handler_dir in sorted(functions.items()):
        try:
            last = _last_error(logs, function, since_ms, expected)
        except (ClientError, BotoCoreError):
            continue  # no log group yet: the function never ran
        if last is not None:
            error_type, said, trace = last
            found.append(_locate(FunctionError(function, handler_dir, error_type, said, trace=trace)))
    return found


def _last_error(logs, function: str, since_ms: int, expected: frozenset[str]) -> tuple[str, str, list[str]] | None:
    unexpected = [e for e in logged_errors(logs, function, since_ms) if e[0].rsplit(".", 1)[-1] not in expected]
    return unexpected[-1] if unexpected else None


def logged_errors(logs, function: str, since_ms: int) -> list[tuple[str, str, list[str]]]:
    """Every error the function logged at or after `since_ms`, oldest first, each as
    (error type, message, trace lines)."""
    parsed = (parse_error(record) for record in log_records(log_messages(logs, function, since_ms)))
    return [error for error in parsed if error is not None]


def log_records(messages: list[str]) -> list[str]:
    """Log events joined into what was written as one: an error message with newlines in it
    (Powertools' BatchProcessingError carries each record's traceback) reaches the log group
    as several events after its `[ERROR]` line, up to the next line the runtime writes."""
    records: list[str] = []
    for message in messages:
        starts_anew = (not records or message.startswith(_RECORD_STARTS) or message.lstrip().startswith("{")
                       or not records[-1].startswith("[ERROR]"))
        if starts_anew:
            records.append(message)
        else:
            records[-1] += message if records[-1].endswith("\n") else "\n" + message
    return records


def parse_error(message: str) -> tuple[str, str, list[str]] | None:
    """(error type, message, trace lines) when a log record reports an error, else None. An
    error that wraps another (a batch processor's) is reported as the wrapped one, raised in
    the learner's code."""
    text = message.replace("\r", "\n").replace("\xa0", " ").strip()
    if text.startswith("[ERROR]"):
        head, _, trace = text[len("[ERROR]"):].strip().partition("\n")
        error_type, _, said = head.partition(": ")
        return _wrapped_error(trace) or (error_type.strip(), said.strip(), trace.splitlines())
    if "Task timed out after" in text:
        return "Timeout", text[text.index("Task timed out"):], []
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            return None
        if isinstance(doc, dict) and (doc.get("level") == "ERROR" or doc.get("exception")):
            trace = str(doc.get("exception") or "").splitlines()
            error_type = doc.get("exception_name") or (trace[-1].partition(":")[0] if trace else "ERROR")
            return str(error_type), str(doc.get("message", "")), trace
    return None


def _wrapped_error(trace: str) -> tuple[str, str, list[str]] | None:
    """The first traceback inside `trace` that ends in an exception line and passes through
    the function's own code: the error a wrapper (BatchProcessingError) reports for a record."""
    for block in trace.split(_TRACEBACK)[1:]:
        lines = [line for line in block.splitlines() if line.strip()]
        raised = _EXCEPTION_LINE.match(lines[-1]) if lines else None
        if raised and any(d in m["path"] for m in _FRAME.finditer(block) for d in _CODE_DIRS):
            return raised["type"], raised["message"], block.splitlines()
    return None


def _locate(error: FunctionError) -> FunctionError:
    """Points the error at the deepest frame inside the function's own code, with that line's
    text as the trace shows it (what ran, which may differ from the file as it is now)."""
    handler_dir = error.handler_dir
    trace = "\n".join(error.trace)
    for match in reversed(list(_FRAME.finditer(trace))):
        path = match["path"]
        code_dir = next((d for d in _CODE_DIRS if d in path), None)
        if code_dir is None:
            continue  # a library's frame (boto3, Powertools): not the learner's
        relative = path.split(code_dir, 1)[1]
        error.file = f"{handler_dir}/{relative}" if handler_dir else relative
        error.line = int(match["line"])
        shown = trace[match.end():].lstrip(" ").split("\n", 2)
        error.code = shown[1].strip() if len(shown) > 1 and shown[1].strip() and "File \"" not in shown[1] else None
        if error.code is None and handler_dir:
            error.code = _line_of(settings.REPO_ROOT / error.file, error.line)
        break
    return error


def _line_of(path: Path, number: int) -> str | None:
    try:
        return path.read_text().splitlines()[number - 1]
    except (OSError, IndexError):
        return None

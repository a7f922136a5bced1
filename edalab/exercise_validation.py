"""Says why a learner's JSON exercise file would be refused, before it is applied.

Why this exists: labs 03 and 04 apply JSON the learner writes (an SNS filter policy, an
EventBridge event pattern, an SQS redrive policy). Applied as is, a bad file either crashed
the deploy with the engine's traceback, or was accepted locally where AWS refuses it. Each
check here returns the reasons a file is invalid, one line each, in words a beginner can act
on (what is wrong, and what it should look like); an empty list means it may be applied.

- SNS filter policies are checked against AWS's documented grammar (attribute names to lists
  of values: strings, numbers, true/false/null; the operators prefix, suffix,
  equals-ignore-case, anything-but, exists, numeric and cidr; `$or`; nested keys only with
  FilterPolicyScope MessageBody; at most 5 top-level keys, at most 150 combinations, 256 KB).
  No maintained library does this, and LocalStack's own validator stops at the first problem,
  answers in the service's terse wording, and crashes on `{"numeric": ">= 100"}`; so the
  grammar is written here, and tests hold it to LocalStack's validator on every example.
- EventBridge patterns are checked by the engine itself (`TestEventPattern`), which refuses
  what AWS refuses (a value to match that is not in a list, an unknown operator, ...). Our
  EventBridge provider makes `PutRule` refuse them too; checking first still lets both files
  be refused together, before either is applied.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from edalab import bootstrap

TODO_KEY = "TODO"
MAX_TOP_LEVEL_KEYS = 5
MAX_COMBINATIONS = 150
MAX_POLICY_BYTES = 256 * 1024
NUMERIC_LIMIT = 1_000_000_000  # AWS: numeric matching works from -10^9 to 10^9
NUMERIC_OPERATORS = ("<", "<=", "=", ">", ">=")
STRING_OPERATORS = ("prefix", "suffix", "equals-ignore-case")
FILTER_OPERATORS = ("anything-but", "cidr", "equals-ignore-case", "exists", "numeric", "prefix", "suffix")
# ">= 100", "<5", "= 3.5": a comparison written as text, where `numeric` wants [">=", 100]
_COMPARISON_TEXT = re.compile(r"^\s*(<=|>=|<|>|=)\s*(-?\d+(?:\.\d+)?)\s*$")


class ExerciseRejected(bootstrap.DeployError):
    """An exercise file that AWS would refuse: it was not applied. `reasons` says why, one line each."""

    def __init__(self, lab_number: str, reasons: list[str]):
        self.lab_number, self.reasons = lab_number, list(reasons)
        lines = "\n".join(f"  - {reason}" for reason in self.reasons)
        super().__init__(f"Your exercise was not applied: AWS would refuse it.\n{lines}\n"
                         f"Fix the file, save it, and run `make deploy LAB={lab_number}` again.")


def read(path: Path) -> tuple[Any, list[str]]:
    """The learner's JSON document and the reasons it cannot be used (not prefixed with the file's name).
    `(None, [])` while the file still holds the exercise's TODO: not an error, nothing to apply."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [f"cannot be read ({error})"]
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        lines = text.splitlines()
        line = lines[error.lineno - 1].strip() if 0 < error.lineno <= len(lines) else ""
        shown = f", at `{line}`" if line else ""
        return None, [f"not valid JSON ({error}){shown}: check the quotes, commas and brackets"]
    if isinstance(doc, dict) and TODO_KEY in doc:
        return None, []
    return doc, []


def _kind(value: Any) -> str:
    """A JSON value's type, in JSON's words."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return {dict: "an object", list: "a list", str: "a string"}.get(type(value), "a number")


def _shown(path: list[str], value: Any) -> str:
    """`"customer": {"tier": <value>}`: where the value sits, written the way the learner wrote it."""
    text = json.dumps(value)
    for key in reversed(path[1:]):
        text = f"{{{json.dumps(key)}: {text}}}"
    return f"{json.dumps(path[0])}: {text}" if path else text


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numeric_example(value: Any) -> str:
    """The learner's own comparison as `numeric` wants it, when it was written as text."""
    match = _COMPARISON_TEXT.match(value) if isinstance(value, str) else None
    if match is None:
        return '[">=", 100]'
    number = match.group(2)
    return f'["{match.group(1)}", {number}]'


def filter_policy_problems(policy: Any, scope: str = "MessageBody") -> list[str]:
    """Why AWS would refuse this SNS subscription filter policy (empty: it is valid).
    `scope` is the subscription's FilterPolicyScope: MessageBody allows nested keys."""
    if not isinstance(policy, dict):
        return [f'a filter policy is a JSON object, like {{"total": [{{"numeric": [">=", 100]}}]}}; '
                f"this one is {_kind(policy)}"]
    problems: list[str] = []
    size = len(json.dumps(policy).encode())
    if size > MAX_POLICY_BYTES:
        problems.append(f"the policy is {size} bytes; AWS allows at most {MAX_POLICY_BYTES} (256 KB)")
    if len(policy) > MAX_TOP_LEVEL_KEYS:
        problems.append(f"the policy has {len(policy)} keys at the top ({', '.join(map(json.dumps, policy))}); "
                        f"AWS allows at most {MAX_TOP_LEVEL_KEYS} (keys nested under them do not count)")
    combinations = _check_keys(policy, [], 1, scope, problems)
    if combinations > MAX_COMBINATIONS:
        problems.append(f"the policy allows {combinations} combinations of values; AWS allows at most "
                        f"{MAX_COMBINATIONS} (each list's length, times how deep its key is nested, multiplied "
                        "together): use fewer values")
    return problems


def _check_keys(node: dict, path: list[str], depth: int, scope: str, problems: list[str]) -> int:
    """Checks one object of keys; returns the combinations it allows, counted as AWS does."""
    combinations = 1
    for key, value in node.items():
        here = path + [key]
        if key == "$or":
            combinations *= _check_or(value, path, depth, scope, problems)
        elif isinstance(value, dict):
            if scope != "MessageBody":
                problems.append(f"{_shown(here, value)} — nested keys need FilterPolicyScope MessageBody; "
                                "message attributes are flat")
            combinations *= _check_keys(value, here, depth + 1, scope, problems)
        elif isinstance(value, list):
            if not value:
                problems.append(f"{_shown(here, value)} — the list of what to match is empty: put at least one "
                                "value in it")
            for element in value:
                _check_value(element, here, problems)
            combinations *= max(len(value), 1) * depth
        else:
            example = (f'[{{"numeric": {_numeric_example(value)}}}]' if _COMPARISON_TEXT.match(str(value))
                       else f"[{json.dumps(value)}]")
            problems.append(f"{_shown(here, value)} — a key takes a list of what to match, in square brackets: "
                            f"{json.dumps(key)}: {example}")
    return combinations


def _check_or(options: Any, path: list[str], depth: int, scope: str, problems: list[str]) -> int:
    if not isinstance(options, list) or not options or not all(isinstance(o, dict) and o for o in options):
        problems.append(f"{_shown(path + ['$or'], options)} — $or takes a list of objects, one per alternative, "
                        'like "$or": [{"total": [{"numeric": [">=", 100]}]}, {"vip": [true]}]')
        return 1
    return sum(_check_keys(option, path, depth, scope, problems) for option in options)


def _check_value(value: Any, path: list[str], problems: list[str]) -> None:
    """One entry of a key's list: an exact value or a one-operator object."""
    if value is None or isinstance(value, (str, bool)) or _is_number(value):
        return
    where = _shown(path, value)
    if isinstance(value, list):
        problems.append(f"{where} — a list inside the list: put the values side by side, like [\"a\", \"b\"]")
        return
    if len(value) != 1:
        problems.append(f"{where} — each {{...}} holds exactly one operator, like {{\"prefix\": \"ord-\"}}; "
                        "for two conditions write two objects side by side (either may match)")
        return
    [(operator, operand)] = value.items()
    if operator in NUMERIC_OPERATORS:
        problems.append(f'{where} — a comparison goes inside numeric: {{"numeric": ["{operator}", '
                        f"{json.dumps(operand)}]}}")
    elif operator not in FILTER_OPERATORS:
        problems.append(f"{where} — {json.dumps(operator)} is not a filter policy operator; "
                        f"the operators are {', '.join(FILTER_OPERATORS)}")
    elif operator in STRING_OPERATORS and not isinstance(operand, str):
        problems.append(f'{where} — {operator} takes a string in quotes, like {{"{operator}": "ord-"}}')
    elif operator == "exists" and not isinstance(operand, bool):
        problems.append(f'{where} — exists takes true or false without quotes, like {{"exists": true}}')
    elif operator == "anything-but":
        _check_anything_but(operand, where, problems)
    elif operator == "numeric":
        problems.extend(f"{where} — {reason}" for reason in _numeric_problems(operand))
    elif operator == "cidr" and (reason := _cidr_problem(operand)):
        problems.append(f"{where} — {reason}")


def _check_anything_but(operand: Any, where: str, problems: list[str]) -> None:
    def plain(v: Any) -> bool:
        return isinstance(v, str) or _is_number(v)

    if plain(operand) or (isinstance(operand, list) and all(plain(v) for v in operand)):
        return
    if isinstance(operand, dict) and list(operand) == ["prefix"] and isinstance(operand["prefix"], str):
        return
    problems.append(f'{where} — anything-but takes a value, a list of values, or {{"prefix": "..."}}, '
                    'like {"anything-but": ["cancelled", "test"]}')


def _numeric_problems(operand: Any) -> list[str]:
    """Why a `numeric` operand is not an operator/number list like [">=", 100] or [">", 0, "<=", 5]."""
    if not isinstance(operand, list):
        return [f"numeric takes a list like {_numeric_example(operand)}"
                + (", not a string" if isinstance(operand, str) else "")]
    if len(operand) not in (2, 4):
        return ['numeric takes an operator and a number, [">=", 100], or a range, [">", 0, "<=", 5]']
    problems = []
    for operator, number in zip(operand[::2], operand[1::2]):
        if operator not in NUMERIC_OPERATORS:
            problems.append(f"{json.dumps(operator)} is not a numeric operator; use one of {', '.join(NUMERIC_OPERATORS)}")
        if isinstance(number, str):
            problems.append(f"the number goes without quotes: {json.dumps(number)} should be {number.strip()}")
        elif not _is_number(number):
            problems.append(f"{json.dumps(number)} after {json.dumps(operator)} is not a number")
        elif abs(number) > NUMERIC_LIMIT:
            problems.append(f"{number} is out of range: AWS compares numbers from -1000000000 to 1000000000")
    if problems or len(operand) == 2:
        return problems
    low_op, low, high_op, high = operand
    if low_op not in (">", ">=") or high_op not in ("<", "<="):
        problems.append('a range starts with > or >= and ends with < or <=, like [">", 0, "<=", 5]')
    elif low >= high:
        problems.append(f"the range is empty: its bottom ({low}) must be less than its top ({high})")
    return problems


def _cidr_problem(operand: Any) -> str | None:
    if not isinstance(operand, str) or operand.count("/") != 1:
        return 'cidr takes an address range in quotes, like {"cidr": "10.0.0.0/24"}'
    try:
        ipaddress.ip_network(operand)
    except ValueError as error:
        return f"{operand} is not an address range ({error}); write it like 10.0.0.0/24"
    return None


def event_pattern_problems(events, pattern: Any, sample_event: dict) -> list[str]:
    """Why EventBridge refuses this event pattern (empty: it is valid), as the engine's
    TestEventPattern says; `events` is an EventBridge client, `sample_event` any well-formed event."""
    if not isinstance(pattern, dict):
        return [f'an event pattern is a JSON object, like {{"source": ["shop.orders"]}}; this one is {_kind(pattern)}']
    try:
        events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(sample_event))
    except ClientError as error:
        return [engine_refusal(error)]
    except BotoCoreError as error:
        raise bootstrap.DeployError(f"the engine did not answer while checking the event pattern: {error}") from error
    return []


def engine_refusal(error: ClientError) -> str:
    """An engine's refusal in a learner's words: its message, and what to do for the common one."""
    message = error.response.get("Error", {}).get("Message") or str(error)
    message = message.removeprefix("Event pattern is not valid. Reason: ").removeprefix("Invalid parameter: ")
    if "must be an object or an array" in message:
        message += ' — every value to match goes in a list, like "tier": ["gold"] or "total": [{"numeric": [">=", 500]}]'
    return f"the engine refused it: {message}"


def redrive_policy_problems(policy: Any) -> list[str]:
    """Why SQS would refuse this redrive policy (empty: it is valid)."""
    example = '{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:<queue>", "maxReceiveCount": 3}'
    if not isinstance(policy, dict):
        return [f"a redrive policy is a JSON object, like {example}; this one is {_kind(policy)}"]
    problems = []
    target, receives = policy.get("deadLetterTargetArn"), policy.get("maxReceiveCount")
    if not isinstance(target, str) or not target.startswith("arn:aws:sqs:"):
        problems.append(f"{_given(policy, 'deadLetterTargetArn')} — it takes the dead-letter queue's ARN in quotes, "
                        '"arn:aws:sqs:..." (`awslocal sqs get-queue-attributes ... --attribute-names QueueArn` '
                        "shows it)")
    # SQS takes the count as a number or as digits in a string (AWS's own examples write "5")
    count = int(receives) if type(receives) is int or (isinstance(receives, str) and receives.isdigit()) else None
    if count is None or not 1 <= count <= 1000:
        problems.append(f"{_given(policy, 'maxReceiveCount')} — it takes a whole number from 1 to 1000, "
                        'like "maxReceiveCount": 3')
    return problems


def _given(doc: dict, key: str) -> str:
    return f"{json.dumps(key)}: {json.dumps(doc[key])}" if key in doc else f"{json.dumps(key)} is missing"

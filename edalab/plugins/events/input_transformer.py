"""A target's input transformer, filled in as AWS fills it.

AWS ("Transforming Amazon EventBridge target input") takes each `InputPathsMap` value from the
event with its JSON type: a number, `true`/`false` and `null` reach the target as themselves.
LocalStack (`events/target.py::get_template_replacements`) replaced every falsy value with `""`,
so `{"count": <count>}` with a count of 0 delivered `{"count": ""}`, and `false` became `""`
(a string placeholder holding 0 or null even failed with a TypeError inside the substitution).

The rules kept here, from AWS's documentation of the transformer:
- In a JSON template, a placeholder outside quotes becomes the value as JSON (`"i-1"`, `0`,
  `false`, `null`, an object); inside a quoted string it becomes the value's text (a string
  without its quotes, `0`, `false`, `null`; an object or array without its inner quotes, as
  AWS documents for `"Detail <detail>"`).
- A string template (`"<instance> is in state <state>"`) is filled with the values' text.
- A path that is not in the event makes the placeholder empty (AWS: the variable is not
  created), as LocalStack already did.

Written by hand: the placeholder grammar is AWS's own (`<name>`, no escaping), and the one
thing needed beyond it is knowing whether a placeholder sits inside a JSON string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

PLACEHOLDER = re.compile(r"<([^<>]*)>")


class _Missing:
    """A path that matched nothing in the event (distinct from a JSON null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


def extract_path(event: Any, path: str) -> Any:
    """The value at JSONPath `path` in `event`, MISSING when nothing matches.

    Several matches (a wildcard) give the list of them, as LocalStack's extract_jsonpath does."""
    from jsonpath_rw import parse  # what LocalStack uses for InputPath; installed with it

    matches = [match.value for match in parse(path).find(event)]
    if not matches:
        return MISSING
    return matches[0] if len(matches) == 1 else matches


def path_values(input_paths_map: Mapping[str, str], event: Any, reserved: set[str]) -> dict[str, Any]:
    """Each InputPathsMap variable's value from the event, falsy values kept as they are."""
    return {name: extract_path(event, path) for name, path in input_paths_map.items() if name not in reserved}


def _as_text(value: Any) -> str:
    """A value written inside a string: its text, an object or array without inner quotes."""
    if value is MISSING:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), default=str).replace('"', "")
    return json.dumps(value)  # numbers, true/false, null


def _as_json(value: Any) -> str:
    """A value written where a JSON value goes (outside quotes in a JSON template)."""
    if value is MISSING:
        return '""'
    if isinstance(value, datetime):
        return json.dumps(_as_text(value))
    return json.dumps(value, default=str)


def _quoted_positions(template: str) -> list[bool]:
    """For each character of a JSON template: is it inside a JSON string literal?"""
    inside, escaped, flags = False, False, []
    for char in template:
        flags.append(inside)
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = inside
        elif char == '"':
            inside = not inside
    return flags


def render(template: str, values: Mapping[str, Any]) -> Any:
    """The template filled with `values`: a dict/list for a JSON template (None when the result
    is not valid JSON, so nothing is sent, as LocalStack does), else the text without the
    template's outer quotes."""
    is_json = template.strip().startswith(("{", "["))
    quoted = _quoted_positions(template) if is_json else None

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1), MISSING)
        if is_json and not quoted[match.start()]:
            return _as_json(value)
        return _as_text(value)

    filled = PLACEHOLDER.sub(fill, template)
    if is_json:
        try:
            return json.loads(filled)
        except json.JSONDecodeError:
            return None
    filled = filled.replace("\\n", "\n")
    stripped = filled.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        return stripped[1:-1]
    return filled

"""The query plan of a Logs Insights query: what the parser produces and the executor runs.

Why this exists: keeping the plan as plain data (one dataclass per command and per expression
kind) lets the parser and the executor be tested apart, and lets the executor compile each
expression once into a function instead of walking the tree for every log event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


# -- expressions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """A field of the record: `@message`, `level`, `order.id`, or a backquoted name."""
    name: str


@dataclass(frozen=True)
class Literal:
    """A number or a string as written in the query."""
    value: object


@dataclass(frozen=True)
class Regex:
    """`/pattern/` (flags inline, as `(?i)`), compiled once."""
    source: str
    compiled: re.Pattern = field(compare=False, repr=False)


@dataclass(frozen=True)
class Duration:
    """`5m`, `1h`, `30s`, `100ms` (bin and datefloor arguments), in milliseconds."""
    text: str
    millis: int


@dataclass(frozen=True)
class ListOf:
    """`["a", "b", 3]` on the right of `in`."""
    items: tuple


@dataclass(frozen=True)
class Unary:
    operator: str  # "not" or "-"
    operand: object


@dataclass(frozen=True)
class Binary:
    """Arithmetic (`+ - * / % ^`), comparison (`= != < <= > >=`), `and`, `or`, `like`,
    `not like`, `=~`, `in`, `not in`."""
    operator: str
    left: object
    right: object


@dataclass(frozen=True)
class Call:
    """A function call; in `stats`, aggregate names (count, sum, avg, ...) make aggregates."""
    name: str
    args: tuple


# -- commands ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Named:
    """One item of `fields`, `stats` or `by`: an expression and the name of its result column
    (its alias, or its text as written, which is how AWS names an unaliased column)."""
    expression: object
    name: str


@dataclass(frozen=True)
class Fields:
    items: tuple[Named, ...]


@dataclass(frozen=True)
class Display:
    names: tuple[str, ...]


@dataclass(frozen=True)
class Filter:
    condition: object


@dataclass(frozen=True)
class Stats:
    aggregates: tuple[Named, ...]
    groups: tuple[Named, ...]


@dataclass(frozen=True)
class SortKey:
    expression: object
    descending: bool


@dataclass(frozen=True)
class Sort:
    keys: tuple[SortKey, ...]


@dataclass(frozen=True)
class Limit:
    count: int


@dataclass(frozen=True)
class Parse:
    """`parse <field> "glob * pattern" as a, b` (compiled to a regex) or `parse <field> /(?<a>..)/`."""
    source: str
    pattern: re.Pattern = field(compare=False)
    names: tuple[str, ...]


@dataclass(frozen=True)
class Dedup:
    names: tuple[str, ...]


@dataclass
class QueryPlan:
    commands: list = field(default_factory=list)

    @property
    def has_stats(self) -> bool:
        return any(isinstance(command, Stats) for command in self.commands)

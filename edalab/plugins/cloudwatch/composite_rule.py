"""A composite alarm's AlarmRule, parsed and evaluated as AWS documents it.

Why this exists: LocalStack splits the rule on "OR" and only understands `ALARM(...)`, so
`ALARM(a) AND ALARM(b)` fires when either child fires, and `OK(...)`, `NOT` or parentheses make
the rule unsupported. AWS's rule language (PutCompositeAlarm, "AlarmRule"): the functions
`ALARM(name)`, `OK(name)`, `INSUFFICIENT_DATA(name)` (true when the named alarm, given by name or
ARN, quoted or not, is in that state), the constants `TRUE` and `FALSE`, the operators `NOT`, `AND`,
`OR` (in that order of precedence) and parentheses.

A small recursive-descent parser is enough for this grammar; a parser library would be a new
dependency for twenty lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STATE_FUNCTIONS = ("ALARM", "OK", "INSUFFICIENT_DATA")
_TOKEN = re.compile(r'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([^\s()"]+))')


class RuleError(ValueError):
    """An AlarmRule AWS would refuse; the message says where."""


@dataclass(frozen=True)
class StateIs:
    state: str
    alarm: str  # a name or an ARN, as written


@dataclass(frozen=True)
class Constant:
    value: bool


@dataclass(frozen=True)
class Not:
    operand: object


@dataclass(frozen=True)
class Both:
    left: object
    right: object


@dataclass(frozen=True)
class Either:
    left: object
    right: object


def _tokens(rule: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(rule):
        if rule[position:].strip() == "":
            break
        match = _TOKEN.match(rule, position)
        if not match:
            raise RuleError(f"unexpected character at position {position}: {rule[position:position + 20]!r}")
        opened, closed, quoted, word = match.groups()
        if opened:
            tokens.append(("(", "("))
        elif closed:
            tokens.append((")", ")"))
        elif quoted is not None:
            tokens.append(("name", quoted.replace('\\"', '"')))
        else:
            tokens.append(("word", word))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, rule: str):
        self.tokens = _tokens(rule)
        self.position = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, kind: str | None = None, text: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (kind and token[0] != kind) or (text and token[1] != text):
            wanted = text or kind or "more"
            found = "the end of the rule" if token is None else repr(token[1])
            raise RuleError(f"expected {wanted!r} but found {found}")
        self.position += 1
        return token

    def either(self):
        node = self.both()
        while self.peek() == ("word", "OR"):
            self.take()
            node = Either(node, self.both())
        return node

    def both(self):
        node = self.negation()
        while self.peek() == ("word", "AND"):
            self.take()
            node = Both(node, self.negation())
        return node

    def negation(self):
        if self.peek() == ("word", "NOT"):
            self.take()
            return Not(self.negation())
        return self.primary()

    def primary(self):
        token = self.peek()
        if token == ("(", "("):
            self.take()
            node = self.either()
            self.take(")")
            return node
        if token in (("word", "TRUE"), ("word", "FALSE")):
            self.take()
            return Constant(token[1] == "TRUE")
        if token and token[0] == "word" and token[1] in STATE_FUNCTIONS:
            self.take()
            self.take("(")
            kind, alarm = self.peek() or ("", "")
            if kind not in ("name", "word") or not alarm:
                raise RuleError(f"{token[1]}( must name an alarm")
            self.take()
            self.take(")")
            return StateIs(token[1], alarm)
        found = "the end of the rule" if token is None else repr(token[1])
        raise RuleError(f"expected ALARM(...), OK(...), INSUFFICIENT_DATA(...), TRUE, FALSE, NOT or '(' but "
                        f"found {found}")


def parse_rule(rule: str):
    """The rule's syntax tree; RuleError when it is not a valid AlarmRule."""
    if not rule or not rule.strip():
        raise RuleError("the rule is empty")
    parser = _Parser(rule)
    tree = parser.either()
    if parser.peek() is not None:
        raise RuleError(f"unexpected {parser.peek()[1]!r} after a complete expression")
    return tree


def referenced_alarms(tree) -> set[str]:
    """The alarm names or ARNs the rule names, as written."""
    if isinstance(tree, StateIs):
        return {tree.alarm}
    if isinstance(tree, Not):
        return referenced_alarms(tree.operand)
    if isinstance(tree, (Both, Either)):
        return referenced_alarms(tree.left) | referenced_alarms(tree.right)
    return set()


def alarm_name(reference: str) -> str:
    """`arn:aws:cloudwatch:region:account:alarm:NAME` or `NAME` -> NAME."""
    return reference.split(":alarm:", 1)[1] if reference.startswith("arn:") and ":alarm:" in reference else reference


def rule_holds(tree, state_of) -> bool:
    """Evaluates the rule; `state_of(reference)` gives the named alarm's state (None if unknown)."""
    if isinstance(tree, Constant):
        return tree.value
    if isinstance(tree, StateIs):
        return state_of(tree.alarm) == tree.state
    if isinstance(tree, Not):
        return not rule_holds(tree.operand, state_of)
    if isinstance(tree, Both):
        return rule_holds(tree.left, state_of) and rule_holds(tree.right, state_of)
    if isinstance(tree, Either):
        return rule_holds(tree.left, state_of) or rule_holds(tree.right, state_of)
    raise TypeError(f"not a rule node: {tree!r}")

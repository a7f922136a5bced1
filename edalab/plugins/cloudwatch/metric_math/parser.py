"""A recursive-descent parser for CloudWatch metric math expressions.

Grammar (loosest first), as AWS's "Metric math syntax and functions" describes the operators:
    or         := and (("OR" | "||") and)*
    and        := not (("AND" | "&&") not)*
    not        := ("NOT" | "!") not | comparison
    comparison := sum (("==" | "!=" | "<=" | ">=" | "<" | ">") sum)?
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | power
    power      := atom ("^" unary)?
    atom       := number | "string" | id | FUNCTION "(" args ")" | "(" or ")" | "[" or ("," or)* "]"
Ids name the request's queries (they start with a lowercase letter); functions and the FILL
keywords REPEAT and LINEAR are upper case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edalab.plugins.cloudwatch.metric_math.series import MathError

TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<string>\"[^\"]*\"|'[^']*')"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[-+*/^()<>\[\],!]))"
)
KEYWORDS = {"REPEAT", "LINEAR"}
WORD_OPERATORS = {"AND": "AND", "OR": "OR", "NOT": "NOT"}
SYMBOL_OPERATORS = {"&&": "AND", "||": "OR", "!": "NOT"}


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Name:
    """A query Id (m1, errors) or a keyword (REPEAT, LINEAR)."""

    id: str


@dataclass(frozen=True)
class Unary:
    op: str
    operand: object


@dataclass(frozen=True)
class Binary:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple


@dataclass(frozen=True)
class Array:
    items: tuple


def tokenize(expression: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = expression.rstrip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match or match.end() == position:
            raise MathError(f"Unexpected character {text[position:].lstrip()[:1]!r} at position {position + 1}.")
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "word" and value in WORD_OPERATORS:
            kind, value = "op", WORD_OPERATORS[value]
        elif kind == "op" and value in SYMBOL_OPERATORS:
            value = SYMBOL_OPERATORS[value]
        tokens.append((kind, value))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, *values: str) -> str | None:
        token = self.peek()
        if token and token[0] == "op" and token[1] in values:
            self.at += 1
            return token[1]
        return None

    def expect(self, value: str) -> None:
        if not self.take(value):
            token = self.peek()
            seen = f"{token[1]!r}" if token else "the end of the expression"
            raise MathError(f"Expected {value!r} but found {seen}.")

    def parse(self):
        if not self.tokens:
            raise MathError("The expression is empty.")
        tree = self.logical_or()
        if self.peek():
            raise MathError(f"Unexpected {self.peek()[1]!r} after a complete expression.")
        return tree

    def logical_or(self):
        left = self.logical_and()
        while self.take("OR"):
            left = Binary("OR", left, self.logical_and())
        return left

    def logical_and(self):
        left = self.logical_not()
        while self.take("AND"):
            left = Binary("AND", left, self.logical_not())
        return left

    def logical_not(self):
        if self.take("NOT"):
            return Unary("NOT", self.logical_not())
        return self.comparison()

    def comparison(self):
        left = self.sum()
        if op := self.take("==", "!=", "<=", ">=", "<", ">"):
            return Binary(op, left, self.sum())
        return left

    def sum(self):
        left = self.product()
        while op := self.take("+", "-"):
            left = Binary(op, left, self.product())
        return left

    def product(self):
        left = self.unary()
        while op := self.take("*", "/"):
            left = Binary(op, left, self.unary())
        return left

    def unary(self):
        if self.take("-"):
            return Unary("-", self.unary())
        if self.take("+"):
            return self.unary()
        return self.power()

    def power(self):
        base = self.atom()
        if self.take("^"):
            return Binary("^", base, self.unary())
        return base

    def atom(self):
        token = self.peek()
        if token is None:
            raise MathError("The expression ends where a value was expected.")
        kind, value = token
        if kind == "number":
            self.at += 1
            return Number(float(value))
        if kind == "string":
            self.at += 1
            return Text(value[1:-1])
        if kind == "word":
            self.at += 1
            if self.take("("):
                return Call(value, self.arguments())
            if value[0].isupper() and value not in KEYWORDS:
                raise MathError(f"{value} is a function and needs parentheses: {value}(...).")
            return Name(value)
        if self.take("("):
            inner = self.logical_or()
            self.expect(")")
            return inner
        if self.take("["):
            items = [self.logical_or()]
            while self.take(","):
                items.append(self.logical_or())
            self.expect("]")
            return Array(tuple(items))
        raise MathError(f"Unexpected {value!r} where a value was expected.")

    def arguments(self) -> tuple:
        if self.take(")"):
            return ()
        args = [self.logical_or()]
        while self.take(","):
            args.append(self.logical_or())
        self.expect(")")
        return tuple(args)


def parse(expression: str):
    """The expression's tree; MathError says what is wrong with a malformed one."""
    return _Parser(tokenize(expression)).parse()


def referenced_ids(tree) -> set[str]:
    """The query Ids an expression reads (METRICS() is resolved by the evaluator)."""
    if isinstance(tree, Name):
        return set() if tree.id in KEYWORDS else {tree.id}
    if isinstance(tree, Unary):
        return referenced_ids(tree.operand)
    if isinstance(tree, Binary):
        return referenced_ids(tree.left) | referenced_ids(tree.right)
    if isinstance(tree, Call | Array):
        parts = tree.args if isinstance(tree, Call) else tree.items
        return set().union(*(referenced_ids(p) for p in parts))
    return set()

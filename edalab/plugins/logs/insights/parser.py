"""Logs Insights query text -> QueryPlan, or a QuerySyntaxError saying where, as AWS does.

Why a hand-written recursive-descent parser and not pyparsing (which is in .venv): the grammar
is small (a pipe of commands, one expression grammar), `/` is both division and the start of a
regex depending on what came before (a lexer that knows the previous token decides it in one
line), and AWS's MalformedQueryException names the offending symbol with its line and position
("unexpected symbol found ( at line 1 and position 115"); both are simplest with our own
tokens, each carrying its offset. AWS's parser is ANTLR-generated, so positions are 0-based
within the line, as ANTLR counts them.

Supported (the subset learners use; see the issue #13): fields, display, filter, stats ... by,
sort, limit, parse (glob and regex), dedup; expressions with and/or/not, comparisons
(= == != < <= > >=), like (string or /regex/), =~, in [...], arithmetic and a few functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edalab.plugins.logs.insights import syntax as s

AGGREGATES = {"count", "count_distinct", "sum", "avg", "min", "max", "pct", "percentile", "stddev",
              "earliest", "latest"}
FUNCTIONS = {"ispresent", "isempty", "isblank", "strlen", "toupper", "tolower", "concat", "strcontains",
             "abs", "floor", "ceil", "coalesce", "trim", "ltrim", "rtrim", "substr", "replace", "bin",
             "datefloor", "dateceil", "tonumber", "tostring", "greatest", "least"}
COMMANDS = {"fields", "display", "filter", "stats", "sort", "limit", "parse", "dedup"}
UNIT_MILLIS = {"ms": 1, "msec": 1, "millisecond": 1, "s": 1000, "sec": 1000, "second": 1000,
               "m": 60_000, "min": 60_000, "minute": 60_000, "h": 3_600_000, "hr": 3_600_000,
               "hour": 3_600_000, "d": 86_400_000, "day": 86_400_000, "w": 604_800_000, "week": 604_800_000}
# after these a `/` opens a regex; after a value (a field, a number, `)`) it divides
REGEX_AFTER_WORDS = {"like", "in", "and", "or", "not", "filter", "by", "parse", "as"}
OPERATORS = ["=~", "==", "!=", "<=", ">=", "|", ",", "(", ")", "[", "]", "+", "-", "*", "/", "%", "^", "=", "<", ">"]
_TOKEN = re.compile(r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<duration>\d+(?:\.\d+)?[a-zA-Z]+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<ident>[A-Za-z_@$][A-Za-z0-9_@$.]*)
  | (?P<qident>`[^`]*`)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
""", re.VERBOSE)
_REGEX = re.compile(r"/((?:[^/\\\n]|\\.)*)/")
_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")


class QuerySyntaxError(ValueError):
    """A malformed query: `message` as AWS words it, and the offending span (0-based offsets)."""

    def __init__(self, message: str, start: int, end: int):
        super().__init__(message)
        self.message, self.start, self.end = message, start, end


@dataclass(frozen=True)
class Token:
    kind: str  # ident, qident, number, duration, string, regex, op, eof
    text: str
    start: int
    end: int

    def word(self) -> str:
        return self.text.lower() if self.kind == "ident" else ""


def python_regex(source: str, start: int, end: int) -> re.Pattern:
    """AWS's regexes name groups `(?<name>...)`; Python writes `(?P<name>...)`."""
    try:
        return re.compile(_NAMED_GROUP.sub("(?P<", source))
    except re.error as error:
        raise QuerySyntaxError(f"invalid regular expression /{source}/: {error}", start, end) from None


def _where(query: str, start: int) -> str:
    """`line L and position P` of an offset, as AWS's messages say it (position 0-based)."""
    line = query.count("\n", 0, start) + 1
    return f"line {line} and position {start - (query.rfind(chr(10), 0, start) + 1)}"


def _unexpected(query: str, start: int, end: int, text: str | None = None) -> QuerySyntaxError:
    symbol = text if text is not None else (query[start:end] or "<EOF>")
    return QuerySyntaxError(f"unexpected symbol found {symbol} at {_where(query, start)}", start, end)


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    at = 0
    while at < len(query):
        previous = tokens[-1] if tokens else None
        if query[at] == "/" and (previous is None or previous.kind == "op" and previous.text not in ")]"
                                 or previous.word() in REGEX_AFTER_WORDS
                                 or len(tokens) >= 2 and tokens[-2].word() == "parse"):
            found = _REGEX.match(query, at)
            if not found:
                raise _unexpected(query, at, at + 1)
            tokens.append(Token("regex", found.group(1), at, found.end()))
            at = found.end()
            continue
        found = _TOKEN.match(query, at)
        if found:
            if found.lastgroup != "space":
                tokens.append(Token(found.lastgroup, found.group(), at, found.end()))
            at = found.end()
            continue
        operator = next((op for op in OPERATORS if query.startswith(op, at)), None)
        if operator is None:
            raise _unexpected(query, at, at + 1)
        tokens.append(Token("op", operator, at, at + len(operator)))
        at += len(operator)
    tokens.append(Token("eof", "", len(query), len(query)))
    return tokens


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def glob_regex(pattern: str) -> re.Pattern:
    """`parse` glob: each `*` captures; a trailing `*` takes the rest of the line."""
    parts = pattern.split("*")
    regex = ""
    for index, part in enumerate(parts):
        regex += re.escape(part)
        if index < len(parts) - 1:
            regex += "(.*)" if index == len(parts) - 2 and parts[-1] == "" else "(.*?)"
    return re.compile(regex)


class Parser:
    def __init__(self, query: str):
        self.query = query
        self.tokens = tokenize(query)
        self.at = 0
        self.in_stats = False

    # -- token helpers -------------------------------------------------------------------------
    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def advance(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def error(self, token: Token | None = None) -> QuerySyntaxError:
        token = token or self.token
        return _unexpected(self.query, token.start, token.end, token.text or "<EOF>")

    def is_op(self, *texts: str) -> bool:
        return self.token.kind == "op" and self.token.text in texts

    def is_word(self, *words: str) -> bool:
        return self.token.word() in words

    def expect_op(self, text: str) -> Token:
        if not self.is_op(text):
            raise self.error()
        return self.advance()

    def text_of(self, start: Token, end: Token) -> str:
        return " ".join(self.query[start.start:end.end].split())

    # -- the pipe of commands ------------------------------------------------------------------
    def parse(self) -> s.QueryPlan:
        plan = s.QueryPlan()
        if self.token.kind == "eof":
            raise QuerySyntaxError("Query string is empty", 0, 0)
        while True:
            plan.commands.append(self.command())
            if self.token.kind == "eof":
                return plan
            self.expect_op("|")

    def command(self):
        token = self.token
        word = token.word()
        if word not in COMMANDS:
            raise self.error()
        self.advance()
        return getattr(self, f"command_{word}")()

    def command_fields(self) -> s.Fields:
        return s.Fields(tuple(self.named_list()))

    def command_display(self) -> s.Display:
        return s.Display(tuple(self.field_names()))

    def command_dedup(self) -> s.Dedup:
        return s.Dedup(tuple(self.field_names()))

    def command_filter(self) -> s.Filter:
        return s.Filter(self.expression())

    def command_stats(self) -> s.Stats:
        self.in_stats = True
        try:
            aggregates = self.named_list()
        finally:
            self.in_stats = False
        if not any(_has_aggregate(item.expression) for item in aggregates):
            raise QuerySyntaxError("stats requires an aggregate function such as count(*)",
                                   self.tokens[self.at - 1].start, self.tokens[self.at - 1].end)
        groups = []
        if self.is_word("by"):
            self.advance()
            groups = self.named_list()
        return s.Stats(tuple(aggregates), tuple(groups))

    def command_sort(self) -> s.Sort:
        if self.is_word("by"):
            self.advance()
        keys = []
        while True:
            expression = self.expression()
            descending = False  # AWS sorts ascending unless told desc
            if self.is_word("asc", "desc"):
                descending = self.advance().word() == "desc"
            keys.append(s.SortKey(expression, descending))
            if not self.is_op(","):
                return s.Sort(tuple(keys))
            self.advance()

    def command_limit(self) -> s.Limit:
        token = self.token
        if token.kind != "number" or not token.text.isdigit() or int(token.text) < 1:
            raise self.error()
        self.advance()
        return s.Limit(int(token.text))

    def command_parse(self) -> s.Parse:
        source = "@message"
        if self.token.kind in ("ident", "qident"):
            source = self.field_name()
        token = self.token
        if token.kind == "regex":
            self.advance()
            pattern = python_regex(token.text, token.start, token.end)
            names = tuple(pattern.groupindex)
            if not names:
                raise QuerySyntaxError("parse with a regular expression needs named groups such as (?<name>...)",
                                       token.start, token.end)
            return s.Parse(source, pattern, names)
        if token.kind != "string":
            raise self.error()
        self.advance()
        pattern = glob_regex(_unquote(token.text))
        if not self.is_word("as"):
            raise self.error()
        self.advance()
        names = tuple(self.field_names())
        if len(names) != pattern.groups:
            raise QuerySyntaxError(f"parse: the pattern has {pattern.groups} wildcards but {len(names)} names "
                                   "follow `as`", token.start, self.tokens[self.at - 1].end)
        return s.Parse(source, pattern, names)

    # -- lists ----------------------------------------------------------------------------------
    def field_name(self) -> str:
        token = self.token
        if token.kind == "ident" and token.word() not in COMMANDS | {"and", "or", "not", "by", "as"}:
            self.advance()
            return token.text
        if token.kind == "qident":
            self.advance()
            return token.text[1:-1]
        raise self.error()

    def field_names(self) -> list[str]:
        names = [self.field_name()]
        while self.is_op(","):
            self.advance()
            names.append(self.field_name())
        return names

    def named(self) -> s.Named:
        first = self.token
        expression = self.expression()
        name = self.text_of(first, self.tokens[self.at - 1])
        if isinstance(expression, s.Field):
            name = expression.name
        if self.is_word("as"):
            self.advance()
            name = self.field_name()
        return s.Named(expression, name)

    def named_list(self) -> list[s.Named]:
        items = [self.named()]
        while self.is_op(","):
            self.advance()
            items.append(self.named())
        return items

    # -- expressions ----------------------------------------------------------------------------
    def expression(self):
        left = self.conjunction()
        while self.is_word("or"):
            self.advance()
            left = s.Binary("or", left, self.conjunction())
        return left

    def conjunction(self):
        left = self.negation()
        while self.is_word("and"):
            self.advance()
            left = s.Binary("and", left, self.negation())
        return left

    def negation(self):
        if self.is_word("not"):
            self.advance()
            return s.Unary("not", self.negation())
        return self.comparison()

    def comparison(self):
        left = self.additive()
        if self.is_op("=", "==", "!=", "<", "<=", ">", ">="):
            operator = self.advance().text
            return s.Binary("=" if operator == "==" else operator, left, self.additive())
        negated = False
        if self.is_word("not") and self.tokens[self.at + 1].word() in ("like", "in"):
            self.advance()
            negated = True
        if self.is_word("like"):
            self.advance()
            right = self.pattern_operand()
            return s.Binary("not like" if negated else "like", left, right)
        if self.is_op("=~"):
            self.advance()
            return s.Binary("like", left, self.pattern_operand(regex_only=True))
        if self.is_word("in"):
            self.advance()
            return s.Binary("not in" if negated else "in", left, self.list_literal())
        return left

    def pattern_operand(self, regex_only: bool = False):
        token = self.token
        if token.kind == "regex":
            self.advance()
            return s.Regex(token.text, python_regex(token.text, token.start, token.end))
        if token.kind == "string" and not regex_only:
            self.advance()
            return s.Literal(_unquote(token.text))
        raise self.error()

    def list_literal(self) -> s.ListOf:
        self.expect_op("[")
        items = []
        if not self.is_op("]"):
            items.append(self.additive())
            while self.is_op(","):
                self.advance()
                items.append(self.additive())
        self.expect_op("]")
        return s.ListOf(tuple(items))

    def additive(self):
        left = self.multiplicative()
        while self.is_op("+", "-"):
            operator = self.advance().text
            left = s.Binary(operator, left, self.multiplicative())
        return left

    def multiplicative(self):
        left = self.unary()
        while self.is_op("*", "/", "%", "^"):
            operator = self.advance().text
            left = s.Binary(operator, left, self.unary())
        return left

    def unary(self):
        if self.is_op("-"):
            self.advance()
            return s.Unary("-", self.unary())
        return self.primary()

    def primary(self):
        token = self.token
        if token.kind == "number":
            self.advance()
            return s.Literal(float(token.text) if any(c in token.text for c in ".eE") else int(token.text))
        if token.kind == "string":
            self.advance()
            return s.Literal(_unquote(token.text))
        if token.kind == "duration":
            return self.duration()
        if token.kind == "regex":
            self.advance()
            return s.Regex(token.text, python_regex(token.text, token.start, token.end))
        if self.is_op("("):
            self.advance()
            inner = self.expression()
            self.expect_op(")")
            return inner
        if self.is_op("["):
            return self.list_literal()
        if token.kind == "ident" and self.tokens[self.at + 1].text == "(":
            return self.call()
        return s.Field(self.field_name())

    def duration(self) -> s.Duration:
        token = self.advance()
        number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([a-zA-Z]+)", token.text).groups()
        unit = unit.lower()
        millis = UNIT_MILLIS.get(unit) or (UNIT_MILLIS.get(unit[:-1]) if unit.endswith("s") else None)
        if millis is None:
            raise QuerySyntaxError(f"unknown time unit {unit} in {token.text}", token.start, token.end)
        return s.Duration(token.text, int(float(number) * millis))

    def call(self) -> s.Call:
        token = self.advance()
        name = token.word()
        if name not in FUNCTIONS and name not in AGGREGATES:
            raise QuerySyntaxError(f"unknown function {token.text} at {_where(self.query, token.start)}",
                                   token.start, token.end)
        if name in AGGREGATES and not self.in_stats:
            raise QuerySyntaxError(f"aggregate function {token.text} can only be used in stats", token.start, token.end)
        self.expect_op("(")
        args = []
        if name == "count" and self.is_op("*"):
            self.advance()
            args.append(s.Literal("*"))
        elif not self.is_op(")"):
            args.append(self.argument())
            while self.is_op(","):
                self.advance()
                args.append(self.argument())
        self.expect_op(")")
        return s.Call(name, tuple(args))

    def argument(self):
        if self.token.kind == "duration":
            return self.duration()
        return self.expression()


def _has_aggregate(expression) -> bool:
    if isinstance(expression, s.Call):
        return expression.name in AGGREGATES or any(_has_aggregate(arg) for arg in expression.args)
    if isinstance(expression, s.Binary):
        return _has_aggregate(expression.left) or _has_aggregate(expression.right)
    if isinstance(expression, s.Unary):
        return _has_aggregate(expression.operand)
    return False


def parse_query(query: str) -> s.QueryPlan:
    """The plan of `query`; raises QuerySyntaxError (AWS: MalformedQueryException) when malformed."""
    return Parser(query).parse()

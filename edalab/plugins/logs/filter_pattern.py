"""CloudWatch Logs filter patterns: one parser and matcher for FilterLogEvents, metric filters and
subscription filters.

AWS documents one syntax ("Filter pattern syntax for metric filters, subscription filters, filter
log events and Live Tail") with four forms, all case-sensitive:
- terms: `ERROR` (every plain term must appear), `"exact phrase"`, `?ERROR ?WARN` (any of the
  `?` terms; AWS ignores them when plain terms are also given), `-DEBUG` (must not appear);
- a regular expression between percent signs: `%ERROR|WARN%`;
- JSON: `{ $.level = "ERROR" && ($.latency > 500 || $.user.id IS NULL) }`, with `=`, `!=`, `<`,
  `<=`, `>`, `>=`, `*` wildcards in strings, `%regex%`, `IS NULL`, `IS TRUE`, `IS FALSE`,
  `EXISTS`, `NOT EXISTS`, arrays `$.a[0]`; events that are not JSON objects never match;
- space-delimited: `[ip, user, ..., status = 5* || status = 404, bytes > 1000]`, where a field in
  double quotes or square brackets of the message counts as one field and `...` stands for any
  number of fields.
An empty pattern matches every event. A pattern AWS would refuse raises InvalidFilterPattern.

LocalStack's community provider has a matcher that always says yes (and moto's knows only plain
terms), so every event matched every pattern.

No maintained Python library parses this syntax (pyparsing is in .venv, but the grammar is small
and its error messages would not read like AWS's), so this is a small hand-written
recursive-descent parser. Use it as a plain function:

    matcher = compile_pattern('{ $.latency > 500 }')
    match = matcher('{"latency": 800}')      # Match, or None when the event does not match
    match.value("$.latency")                  # 800, what a metric filter's metricValue reads
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MISSING = object()  # a selector that names nothing in the event


class InvalidFilterPattern(ValueError):
    """The pattern is not valid CloudWatch Logs filter syntax; the message says what is wrong
    (callers put "Invalid filter pattern: " or "Invalid metric filter pattern: " in front, as AWS words it)."""


class LogMessage:
    """One event's message, parsed at most once whatever the number of patterns tried on it."""

    __slots__ = ("text", "_document", "_fields")

    def __init__(self, text: str):
        self.text = text
        self._document = MISSING
        self._fields = None

    @property
    def document(self) -> Any:
        """The message as a JSON object, or None when it is not one."""
        if self._document is MISSING:
            try:
                parsed = json.loads(self.text)
            except ValueError:
                parsed = None
            self._document = parsed if isinstance(parsed, dict) else None
        return self._document

    @property
    def delimited_fields(self) -> list[str]:
        """The message's space-delimited fields: "quoted" and [bracketed] runs are one field."""
        if self._fields is None:
            self._fields = [quoted or bracketed or bare for quoted, bracketed, bare
                            in _DELIMITED_FIELD.findall(self.text)]
        return self._fields


_DELIMITED_FIELD = re.compile(r'"([^"]*)"|\[([^\]]*)\]|(\S+)')


@dataclass
class Match:
    """What matched: the JSON document, or the named fields of a space-delimited pattern."""

    document: Any = None
    fields: dict[str, str] = field(default_factory=dict)

    def value(self, selector: str) -> Any:
        """The value `$.path` (JSON) or `$name` (space-delimited field) names; None when absent."""
        if selector.startswith("$."):
            if self.document is None:
                return None
            found = _select(self.document, _parse_selector(selector))
            return found[0] if found else None
        if selector.startswith("$"):
            return self.fields.get(selector[1:])
        return None


def compile_pattern(text: str | None) -> "FilterPattern":
    """The matcher for `text`; raises InvalidFilterPattern when AWS would refuse it."""
    return _compile_cached(text or "")


@functools.lru_cache(maxsize=512)
def _compile_cached(text: str) -> "FilterPattern":
    stripped = text.strip()
    if not stripped:
        return FilterPattern(text, "all", lambda message: Match())
    if stripped.startswith("{"):
        return FilterPattern(text, "json", _compile_json(stripped))
    if stripped.startswith("["):
        return FilterPattern(text, "delimited", _compile_delimited(stripped))
    if len(stripped) > 1 and stripped.startswith("%") and stripped.endswith("%"):
        expression = _compile_regex(stripped[1:-1])
        return FilterPattern(text, "regex", lambda message: Match() if expression.search(message.text) else None)
    return FilterPattern(text, "terms", _compile_terms(stripped))


@dataclass(frozen=True)
class FilterPattern:
    """A compiled pattern: call it with a message (str or LogMessage) to get a Match or None."""

    text: str
    kind: str  # "all", "terms", "regex", "json" or "delimited"
    _match: Callable[[LogMessage], Match | None]

    @property
    def has_fields(self) -> bool:
        """JSON and space-delimited patterns name fields; only they may feed metric dimensions."""
        return self.kind in ("json", "delimited")

    def __call__(self, message: str | LogMessage) -> Match | None:
        if not isinstance(message, LogMessage):
            message = LogMessage(message)
        return self._match(message)


def _compile_regex(source: str) -> re.Pattern:
    if not source:
        raise InvalidFilterPattern("the regular expression between % signs is empty")
    if "(" in source or ")" in source:
        raise InvalidFilterPattern("a regular expression in a filter pattern cannot hold parentheses")
    try:
        return re.compile(source)
    except re.error as error:
        raise InvalidFilterPattern(f"invalid regular expression %{source}%: {error}") from None


# -- terms ------------------------------------------------------------------------------------------
_TERM = re.compile(r'\s*([?-]?)(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))')


def _compile_terms(text: str) -> Callable[[LogMessage], Match | None]:
    required, optional, excluded = [], [], []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        found = _TERM.match(text, position)
        if not found or found.end() == position:
            raise InvalidFilterPattern(f"unbalanced quotes in {text[position:].strip()}")
        prefix, quoted, bare = found.groups()
        term = json.loads(f'"{quoted}"') if quoted is not None else bare
        if bare is not None and ('"' in bare):
            raise InvalidFilterPattern(f"unbalanced quotes in {bare}")
        if not term or term in ("?", "-"):
            raise InvalidFilterPattern(f"empty term {found.group(0).strip()}")
        {"": required, "?": optional, "-": excluded}[prefix].append(term)
        position = found.end()
    if required:
        optional = []  # AWS ignores ?terms when plain terms are given

    def match(message: LogMessage) -> Match | None:
        body = message.text
        if any(term not in body for term in required):
            return None
        if optional and not any(term in body for term in optional):
            return None
        if any(term in body for term in excluded):
            return None
        return Match()

    return match


# -- values compared with a field (shared by JSON and space-delimited patterns) -------------------
_NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_COMPARISONS = ("!=", ">=", "<=", "=", ">", "<")


@dataclass(frozen=True)
class Literal:
    """The right-hand side of a comparison: its text, and how it was written."""

    text: str
    quoted: bool = False
    regex: re.Pattern | None = None

    @property
    def number(self) -> float | None:
        return float(self.text) if not self.quoted and _NUMBER.match(self.text) else None


def _compare(value: Any, operator: str, literal: Literal) -> bool:
    """Whether one field value satisfies `operator literal`, as AWS compares them."""
    if value is MISSING:
        return False
    if literal.regex is not None:
        matched = isinstance(value, str) and literal.regex.search(value) is not None
        return matched if operator == "=" else not matched
    number = literal.number
    if operator in (">", "<", ">=", "<="):
        actual = _as_number(value)
        if actual is None:
            return False
        return {">": actual > number, "<": actual < number, ">=": actual >= number, "<=": actual <= number}[operator]
    if number is not None and _as_number(value) is not None:
        equal = _as_number(value) == number
    elif isinstance(value, str):
        equal = fnmatch.fnmatchcase(value, literal.text) if "*" in literal.text else value == literal.text
    else:
        return False  # a string pattern never equals (or differs from) a number, a bool, null, an object
    return equal if operator == "=" else not equal


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value):
        return float(value)
    return None


# -- tokens of JSON and space-delimited expressions -------------------------------------------------
_TOKEN = re.compile(r"""
    \s*(?:
      (?P<paren>[()])
    | (?P<logic>&&|\|\|)
    | (?P<operator>!=|>=|<=|=|>|<)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<regex>%[^%]*%)
    | (?P<word>[^\s()=!<>&|",]+)
    | (?P<comma>,)
    )""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def _tokenize(text: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(text):
        if not text[position:].strip():
            break
        found = _TOKEN.match(text, position)
        if not found:
            raise InvalidFilterPattern(f"invalid character(s) near {text[position:].strip()[:40]}")
        kind = found.lastgroup
        tokens.append(Token(kind, found.group(kind)))
        position = found.end()
    return tokens


class _Parser:
    """Recursive descent over tokens: `or := and ('||' and)*`, `and := unit ('&&' unit)*`,
    `unit := '(' or ')' | condition`; `condition` is given by the pattern form."""

    def __init__(self, tokens: list[Token], condition: Callable[["_Parser"], Callable]):
        self.tokens, self.position, self.condition = tokens, 0, condition

    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, kind: str | None = None, what: str = "") -> Token:
        token = self.peek()
        if token is None or (kind and token.kind != kind):
            near = token.text if token else "the end of the pattern"
            raise InvalidFilterPattern(f"expected {what or kind} but found {near}")
        self.position += 1
        return token

    def parse_or(self) -> Callable:
        return self._joined("||", self.parse_and, any)

    def parse_and(self) -> Callable:
        return self._joined("&&", self.parse_unit, all)

    def _joined(self, operator: str, parse_part: Callable[[], Callable], combine) -> Callable:
        parts = [parse_part()]
        while (token := self.peek()) and token.text == operator:
            self.take()
            parts.append(parse_part())
        return parts[0] if len(parts) == 1 else (lambda scope: combine(part(scope) for part in parts))

    def parse_unit(self) -> Callable:
        token = self.peek()
        if token is not None and token.text == "(":
            self.take()
            inner = self.parse_or()
            closing = self.take("paren", "')'")
            if closing.text != ")":
                raise InvalidFilterPattern("expected ')' but found '('")
            return inner
        return self.condition(self)

    def literal(self) -> Literal:
        token = self.take(what="a value to compare with")
        if token.kind == "string":
            return Literal(json.loads(token.text), quoted=True)
        if token.kind == "regex":
            return Literal(token.text, regex=_compile_regex(token.text[1:-1]))
        if token.kind == "word":
            return Literal(token.text)
        raise InvalidFilterPattern(f"expected a value but found {token.text}")


# -- JSON patterns ---------------------------------------------------------------------------------
_SELECTOR_STEP = re.compile(r"""\.(?P<name>[A-Za-z0-9_@\-]+|\*)|\[(?P<index>\d+|\*)\]|\.?\[['"](?P<key>[^'"]+)['"]\]""")


@functools.lru_cache(maxsize=1024)
def _parse_selector(selector: str) -> tuple:
    if not selector.startswith("$") or selector == "$":
        raise InvalidFilterPattern(f"invalid property selector {selector}: it must start with $.")
    steps, position = [], 1
    while position < len(selector):
        found = _SELECTOR_STEP.match(selector, position)
        if not found:
            raise InvalidFilterPattern(f"invalid property selector {selector}")
        if found.group("index") is not None:
            steps.append(("index", found.group("index")))
        else:
            steps.append(("key", found.group("name") or found.group("key")))
        position = found.end()
    return tuple(steps)


def _select(document: Any, steps: tuple) -> list:
    """Every value the selector names (a `*` step may name several)."""
    current = [document]
    for kind, name in steps:
        following = []
        for value in current:
            if name == "*":
                following += list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else []
            elif kind == "key" and isinstance(value, dict) and name in value:
                following.append(value[name])
            elif kind == "index" and isinstance(value, list) and int(name) < len(value):
                following.append(value[int(name)])
        current = following
    return current


def _json_condition(parser: _Parser) -> Callable:
    token = parser.take("word", "a property selector such as $.level")
    steps = _parse_selector(token.text)
    following = parser.peek()
    if following is not None and following.kind == "word" and following.text in ("IS", "NOT", "EXISTS"):
        return _json_keyword_test(parser, steps)
    operator = parser.take("operator", f"a comparison after {token.text}").text
    literal = parser.literal()
    if operator in (">", "<", ">=", "<=") and literal.number is None:
        raise InvalidFilterPattern(f"{operator} needs a number, not {literal.text}")
    return lambda document: any(_compare(value, operator, literal) for value in _select(document, steps))


def _json_keyword_test(parser: _Parser, steps: tuple) -> Callable:
    words = [parser.take("word").text]
    if words[0] in ("IS", "NOT"):
        words.append(parser.take("word", "NULL, TRUE, FALSE or EXISTS").text)
    test = " ".join(words)
    checks = {
        "IS NULL": lambda values: any(value is None for value in values),
        "IS TRUE": lambda values: any(value is True for value in values),
        "IS FALSE": lambda values: any(value is False for value in values),
        "EXISTS": lambda values: bool(values),
        "NOT EXISTS": lambda values: not values,
    }
    if test not in checks:
        raise InvalidFilterPattern(f"unknown test {test}")
    check = checks[test]
    return lambda document: check(_select(document, steps))


def _compile_json(text: str) -> Callable[[LogMessage], Match | None]:
    if not text.endswith("}"):
        raise InvalidFilterPattern("a JSON pattern must end with }")
    parser = _Parser(_tokenize(text[1:-1]), _json_condition)
    if parser.peek() is None:
        raise InvalidFilterPattern("the JSON pattern {} has no condition")
    expression = parser.parse_or()
    if parser.peek() is not None:
        raise InvalidFilterPattern(f"unexpected {parser.peek().text}")

    def match(message: LogMessage) -> Match | None:
        document = message.document
        if document is None or not expression(document):
            return None
        return Match(document=document)

    return match


# -- space-delimited patterns ----------------------------------------------------------------------
ELLIPSIS = "..."


def _delimited_condition(parser: _Parser) -> Callable:
    name = parser.take("word", "a field name").text
    operator = parser.take("operator", f"a comparison after {name}").text
    literal = parser.literal()
    if operator in (">", "<", ">=", "<=") and literal.number is None:
        raise InvalidFilterPattern(f"{operator} needs a number, not {literal.text}")
    return lambda fields: _compare(fields.get(name, MISSING), operator, literal)


def _compile_delimited(text: str) -> Callable[[LogMessage], Match | None]:
    if not text.endswith("]"):
        raise InvalidFilterPattern("a space-delimited pattern must end with ]")
    tokens = _tokenize(text[1:-1])
    names: list[str] = []
    conditions: list[Callable] = []
    groups, current = [], []
    for token in tokens:
        if token.kind == "comma":
            groups.append(current)
            current = []
        else:
            current.append(token)
    groups.append(current)
    if groups == [[]]:
        raise InvalidFilterPattern("the space-delimited pattern [] names no field")
    for group in groups:
        if not group:
            raise InvalidFilterPattern("empty field between commas")
        first = group[0]
        if first.kind != "word":
            raise InvalidFilterPattern(f"expected a field name but found {first.text}")
        if first.text == ELLIPSIS:
            if len(group) > 1:
                raise InvalidFilterPattern("... cannot have a condition")
            names.append(ELLIPSIS)
            continue
        if first.text in names:
            raise InvalidFilterPattern(f"field {first.text} is named twice")
        names.append(first.text)
        if len(group) > 1:
            parser = _Parser(group, _delimited_condition)
            condition = parser.parse_or()
            if parser.peek() is not None:
                raise InvalidFilterPattern(f"unexpected {parser.peek().text}")
            conditions.append(condition)
    known = set(names)

    def match(message: LogMessage) -> Match | None:
        for fields in _alignments(names, message.delimited_fields):
            if all(condition(fields) for condition in conditions):
                return Match(fields={name: value for name, value in fields.items() if name in known})
        return None

    return match


def _alignments(names: list[str], values: list[str]):
    """Every way to lay the pattern's fields over the message's (each `...` takes 0 or more)."""
    def walk(name_index: int, value_index: int, bound: dict):
        if name_index == len(names):
            if value_index == len(values):
                yield dict(bound)
            return
        name = names[name_index]
        if name == ELLIPSIS:
            for end in range(value_index, len(values) + 1):
                yield from walk(name_index + 1, end, bound)
            return
        if value_index < len(values):
            bound[name] = values[value_index]
            yield from walk(name_index + 1, value_index + 1, bound)
            del bound[name]
    return walk(0, 0, {})

"""Runs a query plan over stored log events and returns rows as GetQueryResults lists them.

Why this exists: this is the part moto lacks (it ignores `filter` and returns only `@ptr` for
`stats`). Commands run in the order written, as on AWS, each over the rows the previous one
left: `filter` keeps rows, `fields ... as` and `parse` add fields, `stats` turns events into one
row per group, `sort`/`limit`/`dedup` order and cut, `display` chooses the columns.

What AWS does and this copies:
- without `sort`, events come newest first;
- a row lists the fields the query names (`fields`, `parse`; `display` replaces them), or,
  when it names none, every field of the event; then `@ptr`; a field without a value is left
  out of the row; `stats` rows list the `by` columns, then the aggregates, and have no `@ptr`;
- `sort` orders "naturally": ascending puts text before numbers, digits compare as numbers;
- statistics: recordsScanned (events in the time range), recordsMatched (events that passed
  the filters), bytesScanned (their message bytes).
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field
from operator import itemgetter

from edalab.plugins.logs.insights import syntax as s
from edalab.plugins.logs.insights.aggregates import accumulator_factory
from edalab.plugins.logs.insights.expressions import Compiler, as_number, as_text, truthy
from edalab.plugins.logs.insights.parser import QuerySyntaxError
from edalab.plugins.logs.insights.records import BUILT_INS, EventRecord

MAX_RESULTS = 10_000  # AWS returns at most 10,000 rows per query
_CHUNKS = re.compile(r"\d+|\D+")


class Cancelled(Exception):
    """StopQuery asked the query to stop."""


@dataclass
class QueryOutcome:
    rows: list[list[dict]]
    records_matched: int = 0
    records_scanned: int = 0
    bytes_scanned: int = 0
    columns: list[str] = field(default_factory=list)

    def statistics(self) -> dict:
        return {"recordsMatched": float(self.records_matched), "recordsScanned": float(self.records_scanned),
                "bytesScanned": float(self.bytes_scanned)}


@dataclass
class LogSource:
    """One log group to read: its `@log` name (`account:group`) and its streams (moto's objects)."""
    log: str
    streams: dict


def natural_key(value):
    number = as_number(value)
    if number is not None:
        return (1, number, ())
    chunks = tuple((("0", len(chunk), int(chunk)) if chunk.isdigit() else (chunk, 0, 0))
                   for chunk in _CHUNKS.findall(as_text(value)))
    return (0, 0, chunks)


def sort_rows(rows: list, keys: tuple[s.SortKey, ...], compiler: Compiler, keep: int | None = None) -> list:
    """Stable sorts from the last key to the first; rows without the key go last either way.
    `keep`: only the first rows are wanted (`sort ... | limit N`), so one key needs no full sort."""
    for key in reversed(keys):
        value = compiler.compile(key.expression)
        keyed = [(value(row), row) for row in rows]
        present = [(natural_key(found), row) for found, row in keyed if found is not None]
        if keep is not None and len(keys) == 1:
            pick = heapq.nlargest if key.descending else heapq.nsmallest  # stable, as sorted(...)[:keep]
            present = pick(keep, present, key=itemgetter(0))
        else:
            present.sort(key=itemgetter(0), reverse=key.descending)
        rows = [row for _, row in present] + [row for found, row in keyed if found is None]
    return rows


_PLAIN_TEXT = re.compile(r"[ -~]+")  # printable ASCII: JSON writes it as it is


def required_texts(plan: s.QueryPlan) -> list[str]:
    """Texts an event's message must contain to pass the query's first `filter`: the string of
    each `field = "text"` / `field like "text"` it requires (joined by `and`). Events without
    them are skipped before their JSON is parsed; the filter itself still decides the rest."""
    first = plan.commands[0] if plan.commands else None
    if not isinstance(first, s.Filter):
        return []
    needles = []

    def visit(node) -> None:
        if isinstance(node, s.Binary) and node.operator == "and":
            visit(node.left)
            visit(node.right)
        elif (isinstance(node, s.Binary) and node.operator in ("=", "like") and isinstance(node.left, s.Field)
              and (node.left.name == "@message" or node.left.name[0] != "@") and isinstance(node.right, s.Literal)
              and isinstance(node.right.value, str) and _PLAIN_TEXT.fullmatch(node.right.value)
              and not any(c in node.right.value for c in '"\\/')):
            needles.append(node.right.value)
    visit(first.condition)
    return needles


def scan(sources: list[LogSource], start_ms: int | None, end_ms: int | None, outcome: QueryOutcome,
         stop=lambda: False, needles: list[str] = ()) -> list[EventRecord]:
    records, scanned = [], 0
    for source in sources:
        for stream_name, stream in list(source.streams.items()):
            if stop():
                raise Cancelled()
            for event in list(stream.events):
                stamp = event.timestamp
                if (start_ms is None or stamp >= start_ms) and (end_ms is None or stamp <= end_ms):
                    scanned += 1
                    message = event.message
                    outcome.bytes_scanned += len(message)
                    if not needles or all(needle in message for needle in needles):
                        records.append(EventRecord(event, stream_name, source.log))
    outcome.records_scanned = scanned
    return records


def check(plan: s.QueryPlan) -> None:
    """Compiles every expression of the plan (by running it over no events), so a query AWS
    would refuse (`pct(ms)` without its percentile, `bin(level)`) is refused at StartQuery
    instead of failing later; raises QuerySyntaxError."""
    try:
        run(plan, [], None, None)
    except ValueError as error:
        raise QuerySyntaxError(str(error), 0, 0) from None


def run(plan: s.QueryPlan, sources: list[LogSource], start_ms: int | None, end_ms: int | None,
        limit: int | None = None, stop=lambda: False) -> QueryOutcome:
    """Runs `plan` over the events of `sources` between the two times (inclusive)."""
    outcome = QueryOutcome(rows=[])
    rows: list = scan(sources, start_ms, end_ms, outcome, stop, required_texts(plan))
    first_ordering = next((c for c in plan.commands if isinstance(c, (s.Sort, s.Limit, s.Dedup, s.Stats))), None)
    if not isinstance(first_ordering, (s.Sort, s.Stats)):
        rows.sort(key=lambda record: record.event.timestamp, reverse=True)  # newest first unless sorted
    compiler = Compiler()
    named: list[str] = []  # what `fields` and `parse` named, in order
    display: list[str] | None = None
    aggregated = False
    matched: int | None = None
    for index, command in enumerate(plan.commands):
        following = plan.commands[index + 1] if index + 1 < len(plan.commands) else None
        if stop():
            raise Cancelled()
        if isinstance(command, s.Filter):
            condition = compiler.compile(command.condition)
            rows = [row for row in rows if truthy(condition(row))]
            if not aggregated:
                matched = len(rows)
        elif isinstance(command, s.Fields):
            rows = _fields(rows, command, compiler, aggregated)
            named += [item.name for item in command.items if item.name not in named]
        elif isinstance(command, s.Parse):
            _parse(rows, command)
            named += [name for name in command.names if name not in named]
        elif isinstance(command, s.Stats):
            rows, names = _stats(rows, command)
            aggregated, named, display = True, names, None
        elif isinstance(command, s.Sort):
            rows = sort_rows(rows, command.keys, compiler, following.count if isinstance(following, s.Limit) else None)
        elif isinstance(command, s.Limit):
            rows = rows[:command.count]
        elif isinstance(command, s.Dedup):
            rows = _dedup(rows, command.names)
        elif isinstance(command, s.Display):
            display = list(command.names)
    outcome.records_matched = matched if matched is not None else outcome.records_scanned
    cap = min(limit or MAX_RESULTS, MAX_RESULTS)
    columns = display or named
    outcome.columns = columns
    outcome.rows = [_result_row(row, columns, aggregated) for row in rows[:cap]]
    return outcome


def _fields(rows: list, command: s.Fields, compiler: Compiler, aggregated: bool) -> list:
    computed = [(item.name, compiler.compile(item.expression)) for item in command.items
                if not (isinstance(item.expression, s.Field) and item.expression.name == item.name)]
    if not computed:
        return rows
    for row in rows:
        values = [(name, value(row)) for name, value in computed]
        for name, value in values:
            if aggregated:
                row[name] = value
            else:
                row.set(name, value)
    return rows


def _parse(rows: list, command: s.Parse) -> None:
    search, names, source = command.pattern.search, command.names, command.source
    for row in rows:
        text = row.get(source)
        found = search(as_text(text)) if text is not None else None
        if found is None:
            continue  # AWS keeps the event, without the extracted fields
        values = found.groups() if len(found.groups()) == len(names) else [found.group(n) for n in names]
        for name, value in zip(names, values):
            if isinstance(row, dict):
                row[name] = value
            else:
                row.set(name, value)


def _stats(rows: list, command: s.Stats) -> tuple[list[dict], list[str]]:
    slots: list = []
    columns = [(item.name, Compiler(slots).compile(item.expression)) for item in command.aggregates]
    factories = [(slot, accumulator_factory(call, Compiler())) for slot, call in slots]
    group_values = [(item.name, Compiler().compile(item.expression)) for item in command.groups]
    groups: dict[tuple, tuple[list, list]] = {}
    for row in rows:
        key = tuple(value(row) for _, value in group_values)
        group = groups.get(key)
        if group is None:
            group = groups[key] = (list(key), [factory() for _, factory in factories])
        for accumulator in group[1]:
            accumulator.add(row)
    if not groups and not group_values:  # stats over no events still answers one row (count 0)
        groups[()] = ([], [factory() for _, factory in factories])
    results = []
    for key_values, accumulators in groups.values():
        filled = {slot: accumulator.result() for (slot, _), accumulator in zip(factories, accumulators)}
        row = {name: value for (name, _), value in zip(group_values, key_values)}
        for name, value in columns:
            row[name] = value(filled)
        results.append(row)
    bins = [item.name for item in command.groups if isinstance(item.expression, s.Call) and item.expression.name == "bin"]
    if bins:  # time series come newest bin first, as the rest of Insights
        results.sort(key=lambda row: row.get(bins[0]) or 0, reverse=True)
    names = [name for name, _ in group_values] + [name for name, _ in columns if name not in dict(group_values)]
    return results, names


def _dedup(rows: list, names: tuple[str, ...]) -> list:
    seen, kept = set(), []
    for row in rows:
        key = tuple(as_text(row.get(name)) for name in names)
        if None in key:  # AWS keeps events without the fields
            kept.append(row)
        elif key not in seen:
            seen.add(key)
            kept.append(row)
    return kept


def _result_row(row, columns: list[str], aggregated: bool) -> list[dict]:
    if aggregated:
        pairs = [(name, row.get(name)) for name in columns]
    elif columns:
        pairs = [(name, row.get(name)) for name in columns] + [("@ptr", row.pointer())]
    else:
        pairs = list(row.all_fields().items()) + [("@ptr", row.pointer())]
    return [{"field": name, "value": as_text(value)} for name, value in pairs if value is not None]


__all__ = ["BUILT_INS", "Cancelled", "LogSource", "QueryOutcome", "check", "run"]

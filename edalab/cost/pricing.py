"""AWS prices from a dated table, and the cost of a usage document at those prices.

Why this exists: lab 08 prices what the engine *counted* (`GET /_edalab/usage`), never a guess.
The prices live in `labs/08-cost-performance/prices.yaml` (one line per billed item, each with the
public pricing page it was read from, free tier apart and off by default) so a learner can edit
them for their region; the experiment runner, `make report LAB=08`, the lab's check and the tests
all price through `cost_lines`, so a report's cost column can be recomputed from its raw counts.

Every `CostLine` is `quantity × unit_price_usd = usd`, where quantity is the raw count (requests,
GB-seconds, GB, units) and `unit_price_usd` is the price of ONE of them (the table's `usd / per`).

Calls made by the console (`caller: console`) and by the engine's own housekeeping
(`caller: engine`) are not priced: AWS's console does not poll your queues on your behalf, and the
engine's bookkeeping (metrics sampling, log delivery) has no AWS counterpart. Calls from a client,
a function or an event source mapping are, and so is every message the engine sends into an SQS
queue on your behalf (an S3 event notification, an SNS delivery, an EventBridge target): AWS bills
those SendMessage requests to the queue's owner ("you pay only for the SQS requests", S3's event
notification documentation says).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from edalab import settings

DEFAULT_PATH = settings.REPO_ROOT / "labs" / "08-cost-performance" / "prices.yaml"

UNITS = ("request", "GB-second", "GB", "read unit", "write unit", "event", "delivery")
UNPRICED_CALLERS = ("console", "engine")
# ... except the messages the engine sends into a queue for you: S3 event notifications, SNS
# deliveries and EventBridge targets are SendMessage calls the queue's owner pays for on AWS.
ENGINE_SENDS_BILLED = ("SendMessage", "SendMessageBatch")


class PriceError(ValueError):
    """prices.yaml cannot be used; the message names the line and what to write."""


def _priced(row: dict) -> bool:
    caller = row.get("caller")
    if caller == "engine":  # an S3 notification, SNS delivery or EventBridge target sending to a queue
        return row.get("service") == "sqs" and row.get("operation") in ENGINE_SENDS_BILLED
    return caller not in UNPRICED_CALLERS


def _billable_requests(service: str) -> Callable[[dict], float]:
    def quantity(usage: dict) -> float:
        return float(sum(row.get("billable", row.get("count", 0)) for row in usage.get("requests") or []
                         if row.get("service") == service and _priced(row)))
    return quantity


def _lambda_gb_seconds(usage: dict) -> float:
    total = 0.0
    for row in usage.get("lambda") or []:
        if row.get("gb_seconds") is not None:
            total += float(row["gb_seconds"])
        else:  # what AWS bills: configured memory in GB × billed duration in seconds
            total += row.get("memory_mb", 0) / 1024 * row.get("billed_ms", 0) / 1000
    return total


def _nested(*keys: str) -> Callable[[dict], float]:
    def quantity(usage: dict) -> float:
        value = usage
        for key in keys:
            value = (value or {}).get(key) if isinstance(value, dict) else None
        return float(value or 0)
    return quantity


# (service, item) -> (the unit it is counted in, how to read its quantity from a usage document)
ITEMS: dict[tuple[str, str], tuple[str, Callable[[dict], float]]] = {
    ("lambda", "requests"): ("request", lambda u: float(sum(r.get("invocations", 0) for r in u.get("lambda") or []))),
    ("lambda", "duration"): ("GB-second", _lambda_gb_seconds),
    ("sqs", "requests"): ("request", _billable_requests("sqs")),
    ("s3", "tier1"): ("request", _nested("s3", "tier1")),
    ("s3", "tier2"): ("request", _nested("s3", "tier2")),
    ("dynamodb", "read_units"): ("read unit", _nested("dynamodb", "read_units")),
    ("dynamodb", "write_units"): ("write unit", _nested("dynamodb", "write_units")),
    ("logs", "ingested"): ("GB", lambda u: _nested("logs", "ingested_bytes")(u) / 2**30),
    ("sns", "publishes"): ("request", _nested("sns", "billable")),
    ("sns", "deliveries_sqs"): ("delivery", _nested("sns", "deliveries", "sqs")),
    ("sns", "deliveries_lambda"): ("delivery", _nested("sns", "deliveries", "lambda")),
    ("sns", "deliveries_http"): ("delivery", _nested("sns", "deliveries", "http")),
    ("sns", "deliveries_email"): ("delivery", _nested("sns", "deliveries", "email")),
    ("events", "custom_events"): ("event", _nested("events", "billable")),
    ("apigateway", "requests"): ("request", _nested("apigateway", "requests")),
}
# The items lab 08's experiments produce: a table without one of them cannot price a run.
REQUIRED = (("lambda", "requests"), ("lambda", "duration"), ("sqs", "requests"), ("s3", "tier1"), ("s3", "tier2"))


@dataclass(frozen=True)
class PriceLine:
    service: str
    item: str
    usd: float          # dollars for every `per` units
    per: float
    unit: str
    source: str
    note: str = ""

    @property
    def unit_price_usd(self) -> float:
        return self.usd / self.per


@dataclass(frozen=True)
class FreeTier:
    service: str
    item: str
    quantity: float     # units free every month
    unit: str
    source: str


@dataclass(frozen=True)
class Prices:
    region: str
    taken: datetime.date
    currency: str
    lines: tuple[PriceLine, ...]
    free_tier: tuple[FreeTier, ...]
    path: Path | None = None

    def line(self, service: str, item: str) -> PriceLine | None:
        return next((p for p in self.lines if (p.service, p.item) == (service, item)), None)


@dataclass(frozen=True)
class CostLine:
    service: str
    item: str
    quantity: float
    unit: str
    unit_price_usd: float
    usd: float


def total(lines: list[CostLine]) -> float:
    return sum(line.usd for line in lines)


def per_million(usd: float, events: int) -> float:
    """Dollars per million events, the figure lab 08 compares settings by."""
    return usd / events * 1_000_000 if events else 0.0


def cost_lines(usage: dict, prices: Prices, free_tier: bool = False) -> list[CostLine]:
    """One line per priced item (in the table's order), plus, with `free_tier`, one negative line
    per allowance that applies (`"<item> (free tier)"`). Items the table does not price are left out."""
    lines: list[CostLine] = []
    for price in prices.lines:
        unit, read = ITEMS[(price.service, price.item)]
        quantity = read(usage)
        unit_price = price.unit_price_usd
        lines.append(CostLine(price.service, price.item, quantity, unit, unit_price, quantity * unit_price))
        if free_tier:
            allowance = next((f for f in prices.free_tier if (f.service, f.item) == (price.service, price.item)), None)
            if allowance and quantity:
                free = min(quantity, allowance.quantity)
                lines.append(CostLine(price.service, f"{price.item} (free tier)", -free, unit, unit_price,
                                      -free * unit_price))
    return lines


# ---------------------------------------------------------------- loading and validation

def load_prices(path: Path | str | None = None) -> Prices:
    path = Path(path) if path else DEFAULT_PATH
    where = _shown(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise PriceError(f"{where}: no such file; lab 08 ships one at {_shown(DEFAULT_PATH)}") from None
    except yaml.YAMLError as error:
        raise PriceError(f"{where} is not valid YAML: {error}") from None
    if not isinstance(doc, dict):
        raise PriceError(f"{where}: expected `region:`, `taken:`, `currency:` and a `prices:` list")
    taken = doc.get("taken")
    if isinstance(taken, str):
        try:
            taken = datetime.date.fromisoformat(taken)
        except ValueError:
            taken = None
    if not isinstance(taken, datetime.date):
        raise PriceError(f"{where}: say when the prices were taken, e.g. `taken: 2026-11-24` "
                         "(prices change; a table without its date cannot be checked)")
    region = doc.get("region")
    if not region or not isinstance(region, str):
        raise PriceError(f"{where}: say which region the prices are for, e.g. `region: us-east-1`")
    rows = doc.get("prices")
    if not isinstance(rows, list) or not rows:
        raise PriceError(f"{where}: `prices:` must be a list of lines like "
                         "`{service: lambda, item: requests, usd: 0.20, per: 1000000, unit: request, source: https://…}`")
    lines = tuple(_price_line(row, n, where) for n, row in enumerate(rows, 1))
    seen: set[tuple[str, str]] = set()
    for line in lines:
        key = (line.service, line.item)
        if key in seen:
            raise PriceError(f"{where}: {line.service} {line.item} is priced twice; keep one line")
        seen.add(key)
    for service, item in REQUIRED:
        if (service, item) not in seen:
            raise PriceError(f"{where}: no price for {service} {item}; lab 08's runs use it, so add its line")
    free = tuple(_free_line(row, n, where) for n, row in enumerate(doc.get("free_tier") or [], 1))
    return Prices(region, taken, str(doc.get("currency") or "USD"), lines, free, path)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(settings.REPO_ROOT))
    except ValueError:
        return str(path)


def _identify(row, n: int, where: str, section: str) -> tuple[str, str, str]:
    if not isinstance(row, dict):
        raise PriceError(f"{where}: {section} line {n} is not a mapping ({row!r})")
    service, item = row.get("service"), row.get("item")
    name = f"{section} line {n} ({service} {item})"
    if (service, item) not in ITEMS:
        known = ", ".join(f"{s} {i}" for s, i in ITEMS)
        raise PriceError(f"{where}: {name}: unknown service/item; known: {known}")
    unit = row.get("unit")
    if unit not in UNITS:
        raise PriceError(f"{where}: {name}: unknown unit {unit!r}; use one of: {', '.join(UNITS)}")
    if unit != ITEMS[(service, item)][0]:
        raise PriceError(f"{where}: {name}: is counted in {ITEMS[(service, item)][0]!r}, not {unit!r}")
    source = row.get("source")
    if not isinstance(source, str) or not source.startswith(("https://", "http://")):
        raise PriceError(f"{where}: {name}: no `source:`; give the public AWS pricing page the price was read from")
    return name, unit, source


def _number(row: dict, key: str, name: str, where: str, example: str) -> float:
    value = row.get(key)
    if value is None:
        raise PriceError(f"{where}: {name}: missing `{key}:` ({example})")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PriceError(f"{where}: {name}: `{key}: {value!r}` is not a number ({example})")
    if value < 0:
        raise PriceError(f"{where}: {name}: `{key}: {value}` is negative; a price or allowance is 0 or more")
    return float(value)


def _price_line(row, n: int, where: str) -> PriceLine:
    name, unit, source = _identify(row, n, where, "prices")
    usd = _number(row, "usd", name, where, "the price in dollars, e.g. `usd: 0.20`")
    per = _number(row, "per", name, where, "how many units that price buys, e.g. `per: 1000000`")
    if per == 0:
        raise PriceError(f"{where}: {name}: `per: 0`; say how many units the price buys (1, 1000, 1000000)")
    return PriceLine(row["service"], row["item"], usd, per, unit, source, str(row.get("note") or ""))


def _free_line(row, n: int, where: str) -> FreeTier:
    name, unit, source = _identify(row, n, where, "free_tier")
    quantity = _number(row, "quantity", name, where, "the units free each month, e.g. `quantity: 1000000`")
    return FreeTier(row["service"], row["item"], quantity, unit, source)

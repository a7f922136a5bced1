"""`make usage`: what the engine served since it started or was last reset, as readable tables.

Why this exists: lab 08 prices runs from the engine's own counts (`GET /_edalab/usage`, the
usage meter in `edalab/plugins/usage/`); a learner reads the same counts here: API calls by
service, operation and caller (with what AWS would bill, and the empty receives), each
function's invocations and GB-seconds, SNS/EventBridge/S3/DynamoDB/Logs/API Gateway totals.
`RESET=1` zeroes the counters; `FORMAT=json` prints the document itself (with `RESET=1`, the new start).
"""

from __future__ import annotations

import io
import json
import urllib.error
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from edalab.http_call import http

PATH = "/_edalab/usage"


def _render(*tables: Table) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=120, color_system=None, highlight=False)
    for table in tables:
        console.print(table)
    return buffer.getvalue().rstrip("\n")


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3f}".rstrip("0")


def requests_table(document: dict) -> Table:
    table = Table(title="API calls (billable: what AWS bills, 64 KB chunks of payload counted apart)",
                  title_justify="left")
    for header, justify in (("Service", "left"), ("Operation", "left"), ("Caller", "left"),
                            ("Calls", "right"), ("Billable", "right"), ("Empty receives", "right")):
        table.add_column(header, justify=justify, overflow="fold")
    for row in document["requests"]:
        table.add_row(row["service"], row["operation"], row["caller"], _number(row["count"]),
                      _number(row["billable"]), _number(row["empty"]) if row["empty"] else "")
    total = sum(row["count"] for row in document["requests"])
    billable = sum(row["billable"] for row in document["requests"])
    table.add_section()
    table.add_row("all", "", "", _number(total), _number(billable),
                  _number(sum(row["empty"] for row in document["requests"])))
    return table


def lambda_table(document: dict) -> Table:
    table = Table(title="Lambda (billed: each invocation rounded up to 1 ms; GB-s = memory/1024 × billed s)",
                  title_justify="left")
    for header in ("Function", "Memory MB", "Invocations", "Errors", "Duration ms", "Billed ms", "GB-seconds"):
        table.add_column(header, justify="left" if header == "Function" else "right")
    for row in document["lambda"]:
        table.add_row(row["function"], _number(row["memory_mb"]), _number(row["invocations"]),
                      _number(row["errors"]), f"{row['duration_ms']:,.2f}", _number(row["billed_ms"]),
                      f"{row['gb_seconds']:.6f}")
    return table


def totals_table(document: dict) -> Table:
    table = Table(title="Other services", title_justify="left")
    table.add_column("Service")
    table.add_column("What")
    table.add_column("Count", justify="right")
    sns, events = document["sns"], document["events"]
    table.add_row("SNS", "messages published", _number(sns["publishes"]))
    table.add_row("SNS", "billable publish requests (64 KB chunks)", _number(sns["billable"]))
    for protocol, count in sns["deliveries"].items():
        table.add_row("SNS", f"deliveries to {protocol}", _number(count))
    table.add_row("EventBridge", "events put", _number(events["entries"]))
    table.add_row("EventBridge", "billable events (64 KB chunks)", _number(events["billable"]))
    table.add_row("EventBridge", "target deliveries", _number(events["deliveries"]))
    table.add_row("S3", "tier 1 requests (PUT, COPY, POST, LIST)", _number(document["s3"]["tier1"]))
    table.add_row("S3", "tier 2 requests (GET, SELECT, others)", _number(document["s3"]["tier2"]))
    dynamodb = document["dynamodb"]
    table.add_row("DynamoDB", "read request units", _number(dynamodb["read_units"]))
    table.add_row("DynamoDB", "write request units", _number(dynamodb["write_units"]))
    for name, units in dynamodb["by_table"].items():
        table.add_row("", f"  {name}: read / write", f"{_number(units['read_units'])} / {_number(units['write_units'])}")
    table.add_row("CloudWatch Logs", "bytes ingested", _number(document["logs"]["ingested_bytes"]))
    table.add_row("CloudWatch Logs", "log events", _number(document["logs"]["events"]))
    for group, logged in document["logs"]["by_group"].items():
        table.add_row("", f"  {group}: bytes / events", f"{_number(logged['ingested_bytes'])} / {_number(logged['events'])}")
    table.add_row("API Gateway", "API requests", _number(document["apigateway"]["requests"]))
    return table


def render(document: dict) -> str:
    header = f"Usage since {document['since']} (now {document['now']})"
    if not document["requests"] and not document["lambda"]:
        return header + "\nNothing was served since then."
    tables = [requests_table(document)]
    if document["lambda"]:
        tables.append(lambda_table(document))
    tables.append(totals_table(document))
    return header + "\n" + _render(*tables)


def main(endpoint: str, args, say: Callable[[str], None]) -> int:
    url = endpoint.rstrip("/") + PATH
    method = "DELETE" if getattr(args, "reset", False) else "GET"
    try:
        reply = http(method, url)
    except (urllib.error.URLError, OSError) as error:
        say(f"No engine answers at {endpoint} ({getattr(error, 'reason', error)}). Start it with `make up`.")
        return 1
    if reply.status == 404 or (reply.status == 200 and not isinstance(reply.body, dict)):
        # a stock engine takes the path for an S3 bucket: GET answers NoSuchBucket, DELETE nothing
        say(f"The engine at {endpoint} has no usage meter ({method} {PATH} answered {reply.status}): it runs without "
            "EDA Lab's engine plugins, or with EDALAB_STOCK_SERVICES=usage. Restart it with `make down` "
            "then `make up` (without EDALAB_STOCK_SERVICES=usage).")
        return 1
    if reply.status != 200 or not isinstance(reply.body, dict):
        say(f"{method} {url} answered {reply.status}: {reply.text[:300]}")
        return 1
    if method == "DELETE" and getattr(args, "format", "table") == "json":
        say(json.dumps(reply.body, indent=2))
        return 0
    if method == "DELETE":
        say(f"Usage counters zeroed: counting again since {reply.body['since']}.")
        return 0
    if getattr(args, "format", "table") == "json":
        say(json.dumps(reply.body, indent=2))
        return 0
    for line in render(reply.body).splitlines():
        say(line)
    return 0

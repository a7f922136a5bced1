"""Processes orders from the edalab-monitored-orders queue (lab 07) and says what it did, in
structured logs and in metrics, so the lab has something to watch.

One order per invocation (the mapping's batch size is 1): an invocation that fails is exactly
one failed order, so Lambda's own `Errors / Invocations` is the share of orders that fail.
- A good order is priced from the price list and logged as "order processed".
- An order with an engraving waits for the (slow) engraving partner first: it really takes
  SLOW_ORDER_SECONDS longer, which the Duration metric and the logs show.
- A poison order (not JSON, no order id, an unknown product, a bad quantity) is logged as
  "order rejected" with a `reason` code, counted, and the invocation fails; SQS offers it
  again after the visibility timeout, and after 3 receives moves it to the DLQ.

Logs: Powertools Logger writes one JSON object per line (level, message, timestamp, cold_start,
function_request_id, ...); the correlation id comes from the message attribute
`correlation_id` (the sender's), else the SQS message id. Metrics: Powertools Metrics prints
Embedded Metric Format documents, which CloudWatch turns into metrics with no API call:
OrdersProcessed, OrderValue (namespace EdaLab/Orders, dimension service) and OrdersRejected
(dimensions service and reason). On AWS, add the Powertools layer or package
`aws-lambda-powertools` with the function.
"""

import json
import os
import time

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

LOG = Logger()
METRICS = Metrics(namespace="EdaLab/Orders")
SLOW_ORDER_SECONDS = float(os.environ.get("SLOW_ORDER_SECONDS", "1.5"))
PRICES = {"lamp": 12.50, "desk": 149.00, "chair": 89.90, "mug": 7.25}
MAX_QTY = 100


class PoisonOrder(Exception):
    """An order that fails however often it is retried; `reason` is a short code for metrics."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def parse(body: str) -> dict:
    try:
        order = json.loads(body)
    except ValueError:
        raise PoisonOrder("not_json", "the body is not JSON") from None
    if not isinstance(order, dict) or not isinstance(order.get("order_id"), str):
        raise PoisonOrder("no_order_id", "the body has no 'order_id' string")
    items = order.get("items")
    if not isinstance(items, list) or not items:
        raise PoisonOrder("no_items", "'items' is missing or empty")
    for item in items:
        if not isinstance(item, dict) or item.get("sku") not in PRICES:
            raise PoisonOrder("unknown_sku", f"product {item.get('sku') if isinstance(item, dict) else item!r} "
                                             "is not in the price list")
        if type(item.get("qty")) is not int or not 1 <= item["qty"] <= MAX_QTY:
            raise PoisonOrder("bad_quantity", f"qty must be a whole number from 1 to {MAX_QTY}, not {item.get('qty')!r}")
    return order


def engrave(order: dict) -> None:
    """The engraving partner answers slowly: an engraved order really takes longer."""
    if order.get("engraving"):
        time.sleep(SLOW_ORDER_SECONDS)


def process(record: dict) -> None:
    started = time.monotonic()
    body, receives = record.get("body", ""), int(record.get("attributes", {}).get("ApproximateReceiveCount", 1))
    try:
        order = parse(body)
    except PoisonOrder as error:
        LOG.append_keys(order_id=_order_id(body))
        LOG.error("order rejected", reason=error.reason, detail=error.detail, receive_count=receives)
        METRICS.add_dimension(name="reason", value=error.reason)
        METRICS.add_metric(name="OrdersRejected", unit=MetricUnit.Count, value=1)
        raise
    LOG.append_keys(order_id=order["order_id"])
    engrave(order)
    value = round(sum(PRICES[item["sku"]] * item["qty"] for item in order["items"]), 2)
    METRICS.add_metric(name="OrdersProcessed", unit=MetricUnit.Count, value=1)
    METRICS.add_metric(name="OrderValue", unit=MetricUnit.NoUnit, value=value)
    LOG.info("order processed", value=value, engraved=bool(order.get("engraving")),
             duration_ms=round((time.monotonic() - started) * 1000), receive_count=receives)


def _order_id(body: str) -> str:
    """The order id for the log line, when the body has one."""
    try:
        return str(json.loads(body).get("order_id", "?"))
    except (ValueError, AttributeError):
        return "?"


@METRICS.log_metrics  # prints the EMF document at the end of every invocation, failed ones too
@LOG.inject_lambda_context(clear_state=True)
def handler(event, context):
    for record in event.get("Records", []):
        attribute = record.get("messageAttributes", {}).get("correlation_id", {})
        LOG.set_correlation_id(attribute.get("stringValue") or record.get("messageId"))
        process(record)

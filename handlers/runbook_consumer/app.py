"""Records orders that arrive from edalab-runbook-orders (lab 09), once each.

The orders come from the EventBridge bus edalab-runbook-bus through the rule
edalab-runbook-orders-to-queue, so each SQS body is an EventBridge event whose `detail` is the
order. Every log line carries `message_id`, `correlation_id` and `order_id`; a failure's line
adds `failure_reason`, one of:
  InvalidOrder           the order itself is wrong (no retry or deploy will fix it: park it)
  ConsumerBug            this code failed (a bad release: roll back, then redrive or replay)
  DownstreamUnavailable  DynamoDB refused the write (wait for it, then redrive)
Only the failed record is retried (partial batch response); after 3 receives SQS moves it to
the DLQ. The write is idempotent: an order already recorded is skipped and counted as a
duplicate, so a redrive or an archive replay can never record an order twice.

Metrics (Embedded Metric Format): OrdersProcessed, OrdersRejected, ConsumerErrors; the error-rate
alarm (ConsumerErrors / (ConsumerErrors + OrdersProcessed)) opens the circuit breaker.
Configuration the drills change through the Lambda API: RELEASE (a release whose name ends in
"-bad" has the bug), ORDERS_TABLE (a table that does not exist refuses every write).
On AWS, add the Powertools layer or package `aws-lambda-powertools` with the function.
"""

import json
import os
import time
from datetime import UTC, datetime
from decimal import Decimal

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from botocore.exceptions import ClientError

LOG = Logger()
METRICS = Metrics()
TABLE = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])
RELEASE = os.environ.get("RELEASE", "")
LATENCY_S = int(os.environ.get("DOWNSTREAM_LATENCY_MS", "0")) / 1000
PROCESSOR = BatchProcessor(event_type=EventType.SQS)


class InvalidOrder(Exception):
    """The order cannot be processed as it is."""


def parse(body: str) -> tuple[dict, str]:
    """(the order, its correlation id) from an EventBridge event body."""
    try:
        event = json.loads(body)
    except ValueError:
        raise InvalidOrder("the body is not JSON") from None
    order = event.get("detail") if isinstance(event, dict) else None
    if not isinstance(order, dict):
        raise InvalidOrder("the event has no detail object")
    if not isinstance(order.get("order_id"), str) or not order["order_id"]:
        raise InvalidOrder("'order_id' is missing")
    if not isinstance(order.get("customer"), str) or not order["customer"].strip():
        raise InvalidOrder("'customer' is missing or empty")
    total = order.get("total")
    if not isinstance(total, int | float) or isinstance(total, bool) or total <= 0:
        raise InvalidOrder(f"'total' must be a positive number, not {total!r}")
    return order, str(order.get("correlation_id") or event.get("id") or "")


def price(order: dict) -> Decimal:
    if RELEASE.endswith("-bad"):
        # the bug of the bad release: it expects a field no producer sends yet
        return Decimal(str(order["total"])) * Decimal(str(order["currency_rate"]))
    return Decimal(str(order["total"]))


def save(order: dict, total: Decimal, message_id: str) -> bool:
    """Records the order; False when it was recorded before (a duplicate delivery)."""
    try:
        TABLE.update_item(
            Key={"order_id": order["order_id"]},
            UpdateExpression="SET customer = :customer, #total = :total, message_id = :message, "
                             "processed_at = :now, release_name = :release ADD times_processed :one",
            ConditionExpression="attribute_not_exists(order_id)",
            ExpressionAttributeNames={"#total": "total"},
            ExpressionAttributeValues={":customer": order["customer"], ":total": total, ":message": message_id,
                                       ":now": datetime.now(UTC).isoformat(), ":release": RELEASE, ":one": 1},
        )
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    TABLE.update_item(Key={"order_id": order["order_id"]}, UpdateExpression="ADD duplicates_skipped :one",
                      ExpressionAttributeValues={":one": 1})
    return False


def ids_of(body: str) -> tuple[str | None, str | None]:
    """(order id, correlation id) as far as the body says, even from an invalid order."""
    try:
        event = json.loads(body)
        detail = event.get("detail") or {}
        return detail.get("order_id"), detail.get("correlation_id") or event.get("id")
    except (ValueError, AttributeError):
        return None, None


def process(record):
    LOG.remove_keys(["failure_reason"])
    order_id, correlation_id = ids_of(record.body)
    LOG.append_keys(message_id=record.message_id, receives=int(record.attributes.approximate_receive_count),
                    order_id=order_id, correlation_id=correlation_id)
    try:
        order, _ = parse(record.body)
        recorded = save(order, price(order), record.message_id)
    except InvalidOrder as error:
        _failed("InvalidOrder", error, "OrdersRejected")
        raise
    except ClientError as error:
        _failed("DownstreamUnavailable", f"{error.response['Error']['Code']}: {error}", "ConsumerErrors")
        raise
    except Exception as error:
        _failed("ConsumerBug", f"{type(error).__name__}: {error}", "ConsumerErrors")
        raise
    if recorded:
        METRICS.add_metric(name="OrdersProcessed", unit=MetricUnit.Count, value=1)
        LOG.info("order recorded")
    else:
        LOG.info("duplicate delivery skipped: the order was recorded before")


def _failed(reason: str, detail, metric: str) -> None:
    LOG.append_keys(failure_reason=reason)
    LOG.error(f"order failed: {detail}")
    METRICS.add_metric(name=metric, unit=MetricUnit.Count, value=1)


@METRICS.log_metrics
def handler(event, context):
    LOG.append_keys(release=RELEASE)
    time.sleep(LATENCY_S)  # the downstream round trip, once per batch
    return process_partial_response(event=event, record_handler=process, processor=PROCESSOR, context=context)

"""Prices and records orders arriving from the edalab-orders queue (lab 04).

Each order must name known products: the price comes from the catalog table. An order that
cannot be processed — not JSON, a missing field, a wrong type, a product the catalog does not
know — fails with a reason in the log. The batch reports only that record as failed
(`batchItemFailures`), so SQS offers it again after the visibility timeout; once it has been
received as many times as the queue's redrive policy allows, SQS moves it to the DLQ, where it
waits for a person. A good order is recorded once; `times_processed` counts how often the side
effect happened, so a duplicate would show.
On AWS, add the Powertools layer or package `aws-lambda-powertools` with the function.
"""

import json
import os
from decimal import Decimal

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

LOG = Logger()
DYNAMODB = boto3.resource("dynamodb")
CATALOG = os.environ["CATALOG_TABLE"]
ORDERS = DYNAMODB.Table(os.environ["ORDERS_TABLE"])
PROCESSOR = BatchProcessor(event_type=EventType.SQS)
MAX_QTY = 100


class PoisonOrder(Exception):
    """An order this consumer cannot process as it is; retrying will not help until someone
    fixes the order or the consumer (or its data)."""


def parse(body: str) -> dict:
    try:
        order = json.loads(body)
    except ValueError as error:
        raise PoisonOrder(f"the body is not JSON ({error})") from None
    if not isinstance(order, dict):
        raise PoisonOrder("the body is JSON but not an object")
    for field in ("order_id", "customer"):
        if not isinstance(order.get(field), str) or not order[field].strip():
            raise PoisonOrder(f"'{field}' is missing or not a non-empty string")
    items = order.get("items")
    if not isinstance(items, list) or not items:
        raise PoisonOrder("'items' is missing or not a non-empty list")
    for n, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str):
            raise PoisonOrder(f"items[{n}] has no 'sku' string")
        qty = item.get("qty")
        if type(qty) is not int or not 1 <= qty <= MAX_QTY:
            raise PoisonOrder(f"items[{n}].qty must be a whole number from 1 to {MAX_QTY}, not {qty!r}")
    return order


def prices(skus: set[str]) -> dict[str, Decimal]:
    found = DYNAMODB.batch_get_item(RequestItems={CATALOG: {"Keys": [{"sku": s} for s in skus]}})["Responses"]
    return {item["sku"]: item["price"] for item in found[CATALOG]}


def price(order: dict) -> Decimal:
    known = prices({item["sku"] for item in order["items"]})
    missing = sorted({item["sku"] for item in order["items"]} - known.keys())
    if missing:
        raise PoisonOrder(f"product(s) {', '.join(missing)} not in the catalog")
    return sum(known[item["sku"]] * item["qty"] for item in order["items"])


def save(order: dict, total: Decimal, message_id: str) -> None:
    ORDERS.update_item(
        Key={"order_id": order["order_id"]},
        UpdateExpression="ADD times_processed :one SET customer = :customer, #total = :total, message_id = :message",
        ExpressionAttributeNames={"#total": "total"},
        ExpressionAttributeValues={":one": 1, ":customer": order["customer"], ":total": total,
                                   ":message": message_id},
    )


def process(record):
    receives = int(record.attributes.approximate_receive_count)
    try:
        order = parse(record.body)
        total = price(order)
    except PoisonOrder as error:
        order_id = _order_id(record.body)
        LOG.error("order rejected", order_id=order_id, reason=str(error), receive_count=receives,
                  message_id=record.message_id)
        raise
    save(order, total, record.message_id)
    LOG.info("order processed", order_id=order["order_id"], total=str(total), receive_count=receives)


def _order_id(body: str) -> str:
    """The order id for the log line, when the body has one."""
    try:
        return str(json.loads(body).get("order_id", "?"))
    except (ValueError, AttributeError):
        return "?"


@LOG.inject_lambda_context
def handler(event, context):
    return process_partial_response(event=event, record_handler=process, processor=PROCESSOR, context=context)

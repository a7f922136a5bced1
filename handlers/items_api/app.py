"""The items API: create, read, update, list and delete items over API Gateway (Lambda proxy).

Items live in DynamoDB; every write also stores a JSON snapshot of the item in a versioned S3
bucket, so an item's history is the list of its object versions. Bad input gets a 4xx answer
with a reason, never a 500: the learner (and any client) should know what to fix.
"""

import base64
import json
import math
import os
import uuid
from decimal import Decimal

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
S3 = boto3.client("s3")
BUCKET = os.environ["BUCKET_NAME"]

FIELDS = {"name", "price", "tags"}
MAX_NAME = 100
MAX_PRICE = 1_000_000_000
MAX_TAGS, MAX_TAG = 20, 50
MAX_ID = 64


class BadRequest(Exception):
    pass


def reply(status, body=None):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": "" if body is None else json.dumps(body, default=_plain),
    }


def _plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def parse_item(event):
    """Validates the request body; returns the item's fields or raises BadRequest."""
    raw = event.get("body") or ""
    try:
        if event.get("isBase64Encoded"):
            raw = base64.b64decode(raw).decode("utf-8")
        body = json.loads(raw)
    except (ValueError, TypeError):
        raise BadRequest("the body must be a JSON object, e.g. {\"name\": \"lamp\", \"price\": 12.5}")
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object, not a " + type(body).__name__)
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)}; allowed: name, price, tags")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("'name' is required and must be a non-empty string")
    if len(name) > MAX_NAME:
        raise BadRequest(f"'name' is longer than {MAX_NAME} characters")
    item = {"name": name.strip()}
    if "price" in body:
        price = body["price"]
        if isinstance(price, bool) or not isinstance(price, (int, float)) or not math.isfinite(price):
            raise BadRequest("'price' must be a number")
        if not 0 <= price <= MAX_PRICE:
            raise BadRequest(f"'price' must be between 0 and {MAX_PRICE}")
        item["price"] = Decimal(str(price))
    if "tags" in body:
        tags = body["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            raise BadRequest("'tags' must be a list of non-empty strings")
        if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG for t in tags):
            raise BadRequest(f"at most {MAX_TAGS} tags of at most {MAX_TAG} characters each")
        item["tags"] = tags
    return item


def snapshot(item):
    S3.put_object(
        Bucket=BUCKET,
        Key=f"items/{item['id']}.json",
        Body=json.dumps(item, default=_plain).encode(),
        ContentType="application/json",
    )


def create_item(event):
    item = {"id": str(uuid.uuid4()), **parse_item(event)}
    TABLE.put_item(Item=item)
    snapshot(item)
    return reply(201, item)


def get_item(item_id):
    item = TABLE.get_item(Key={"id": item_id}).get("Item")
    return reply(200, item) if item else reply(404, {"error": f"no item with id {item_id}"})


def list_items():
    items = TABLE.scan().get("Items", [])
    return reply(200, {"items": sorted(items, key=lambda i: i["name"])})


def update_item(event, item_id):
    # TODO (lab 01): replace the item with id `item_id` by the fields in the request body.
    #   1. Validate the body exactly as create_item does (parse_item raises BadRequest,
    #      which the handler turns into a 400 answer).
    #   2. Write the item only if it already exists: an unknown id must answer 404 and
    #      create nothing, no item and no snapshot. (Look at how delete_item does it.)
    #      The item is replaced whole: a field the body leaves out (say tags) is gone after.
    #   3. Store a snapshot in S3, like create_item, so the item's history grows.
    #   4. Answer 200 with the updated item: the id from the path and the body's fields.
    return reply(501, {"error": "PUT /items/{id} is not implemented yet (lab 01 exercise)"})


def delete_item(item_id):
    try:
        TABLE.delete_item(Key={"id": item_id}, ConditionExpression="attribute_exists(id)")
    except TABLE.meta.client.exceptions.ConditionalCheckFailedException:
        return reply(404, {"error": f"no item with id {item_id}"})
    S3.delete_object(Bucket=BUCKET, Key=f"items/{item_id}.json")
    return reply(204)


def handler(event, context):
    method = event.get("httpMethod")
    item_id = (event.get("pathParameters") or {}).get("id")
    try:
        if item_id is not None and not 0 < len(item_id) <= MAX_ID:
            raise BadRequest(f"an item id has 1 to {MAX_ID} characters")
        if item_id is None and method == "POST":
            return create_item(event)
        if item_id is None and method == "GET":
            return list_items()
        if item_id is not None and method == "GET":
            return get_item(item_id)
        if item_id is not None and method == "PUT":
            return update_item(event, item_id)
        if item_id is not None and method == "DELETE":
            return delete_item(item_id)
        return reply(405, {"error": f"{method} is not allowed here"})
    except BadRequest as error:
        print(f"bad request: {error}")
        return reply(400, {"error": str(error)})

"""Lab 01 check: every verb of the items API works over HTTP, and the update verb (the exercise)
follows each rule of its TODO: it validates the body as create does (400, and nothing changes),
replaces only an item that exists (404 and nothing created, not even a snapshot), stores a new
snapshot version in S3, and answers 200 with the updated item.

Every item the check creates is removed at the end, with every version of its snapshot (the
bucket is versioned: a plain delete only adds a delete marker), whether the check passed or not.
"""

import json
import uuid

from edalab.checks import CheckFailed, step

CREATED = {"name": "check lamp", "price": 10, "tags": ["check"]}
UPDATE = {"name": "  check lamp v2 ", "price": 12.5}  # no tags: PUT replaces the whole item
BAD_BODIES = ((b"{not json", "malformed JSON"), (b'{"price": 3}', "a missing name"),
              (b'{"name": "x", "price": "cheap"}', "a price that is not a number"),
              (b'{"name": "x", "colour": "red"}', "an unknown field"))


def _items_url(ctx, path=""):
    return ctx.api_url(ctx.output("ApiId"), "dev", "items" + path)


def _expect(reply, status, doing, hint=None):
    if reply.status != status:
        crashed = " (the function raised an exception: its error is shown below)" if reply.status == 502 else ""
        raise CheckFailed(f"{doing} answered {reply.status} (expected {status}){crashed}: {reply.text[:300]}",
                          hint=hint)


def _snapshot_versions(ctx, item_id):
    """Every version and delete marker of the item's snapshot, newest first."""
    key = f"items/{item_id}.json"
    found = ctx.client("s3").list_object_versions(Bucket=ctx.output("SnapshotsBucket"), Prefix=key)
    return [v for v in found.get("Versions", []) + found.get("DeleteMarkers", []) if v["Key"] == key]


def _forget(ctx, item_id):
    """Removes the item from the table and every version of its snapshot from the bucket."""
    ctx.client("dynamodb").delete_item(TableName=ctx.output("ItemsTable"), Key={"id": {"S": item_id}})
    for version in _snapshot_versions(ctx, item_id):
        ctx.client("s3").delete_object(Bucket=ctx.output("SnapshotsBucket"), Key=version["Key"],
                                       VersionId=version["VersionId"])


def _update_hint(status):
    """The hint that fits a PUT answered with this status: not written yet (1), a body
    refused or a crash (2), an existing item not found (3), anything else (4)."""
    return {501: 1, 400: 2, 500: 2, 502: 2, 404: 3}.get(status, 4)


@step("The lab's stack is deployed: table, versioned bucket, function and API")
def stack_deployed(ctx):
    bucket = ctx.output("SnapshotsBucket")
    if ctx.client("s3").get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
        raise CheckFailed(f"bucket {bucket} does not have versioning enabled: `make deploy LAB=01`")


@step("POST /items creates an item, GET /items/{id} reads it back, GET /items lists it", hint=1)
def create_and_read(ctx):
    reply = ctx.http("POST", _items_url(ctx), CREATED)
    _expect(reply, 201, "POST /items")
    item = reply.body
    ctx.cleanup(lambda: _forget(ctx, item["id"]), f"the check's item {item['id']} and its snapshots")
    reply = ctx.http("GET", _items_url(ctx, f"/{item['id']}"))
    _expect(reply, 200, f"GET /items/{item['id']}")
    if reply.body != {"id": item["id"], **CREATED}:
        raise CheckFailed(f"GET returned {reply.body}, not the item just created")
    listed = ctx.http("GET", _items_url(ctx))
    _expect(listed, 200, "GET /items")
    if item["id"] not in [i.get("id") for i in listed.body.get("items", [])]:
        raise CheckFailed(f"GET /items does not list the item just created ({item['id']})")
    ctx.item_id = item["id"]


@step("PUT /items/{id} replaces the item and answers 200 with it (your exercise)", hint=4,
      needs=[create_and_read])
def update(ctx):
    url = _items_url(ctx, f"/{ctx.item_id}")
    expected = {"id": ctx.item_id, "name": UPDATE["name"].strip(), "price": UPDATE["price"]}
    reply = ctx.http("PUT", url, UPDATE)
    answered_id = reply.body.get("id") if isinstance(reply.body, dict) else None
    if answered_id and answered_id != ctx.item_id:  # an item under a new id: remove it too
        ctx.cleanup(lambda: _forget(ctx, answered_id), f"the item {answered_id} the PUT created")
    if reply.status == 404:
        raise CheckFailed(f"PUT /items/{ctx.item_id} answered 404 for the item just created: write the item "
                          "under the id from the path (item_id), with the condition attribute_exists(id)", hint=3)
    _expect(reply, 200, f"PUT /items/{ctx.item_id}", hint=_update_hint(reply.status))
    stored = ctx.http("GET", url).body
    if stored == {"id": ctx.item_id, **CREATED}:
        raise CheckFailed(f"after PUT, GET still shows {stored}: the update was not written to DynamoDB")
    if stored.get("tags"):
        raise CheckFailed(f"after PUT without tags, GET shows {stored}: PUT replaces the whole item with the "
                          "fields of the body (put_item), it does not merge them into the old one")
    if stored.get("name") == UPDATE["name"]:
        raise CheckFailed(f"after PUT, GET shows the name {stored['name']!r} untrimmed: store the fields "
                          "parse_item(event) returns, not the raw body", hint=2)
    if stored != expected:
        raise CheckFailed(f"after PUT {json.dumps(UPDATE)}, GET shows {stored}; expected {expected}")
    if reply.body != expected:
        raise CheckFailed(f"PUT answered 200 with {reply.text[:300]}; it must answer with the updated item, "
                          f"{json.dumps(expected)}: `return reply(200, item)`")


@step("PUT keeps the item's history: a new version of its snapshot in S3, holding the update", hint=4,
      needs=[stack_deployed, update])
def history(ctx):
    versions = [v for v in _snapshot_versions(ctx, ctx.item_id) if "Size" in v]  # not delete markers
    key = f"items/{ctx.item_id}.json"
    if len(versions) < 2:
        raise CheckFailed(f"{key} has {len(versions)} version(s) in {ctx.output('SnapshotsBucket')}; after "
                          "an update it should have 2: call snapshot(item) after the write")
    newest = max(versions, key=lambda v: v["LastModified"])
    body = json.loads(ctx.client("s3").get_object(Bucket=ctx.output("SnapshotsBucket"), Key=key,
                                                  VersionId=newest["VersionId"])["Body"].read())
    if body.get("name") != UPDATE["name"].strip() or body.get("price") != UPDATE["price"]:
        raise CheckFailed(f"the newest version of {key} holds {body}, not the updated item: snapshot the "
                          "item you wrote, after the write")


@step("PUT with a bad body answers 400 with a reason, and changes nothing", hint=2, needs=[create_and_read])
def update_validates(ctx):
    url = _items_url(ctx, f"/{ctx.item_id}")
    before = ctx.http("GET", url).body
    for body, why in BAD_BODIES:
        reply = ctx.http("PUT", url, raw=body)
        _expect(reply, 400, f"PUT with {why}", hint=_update_hint(reply.status) if reply.status != 200 else 2)
        if not (isinstance(reply.body, dict) and reply.body.get("error")):
            raise CheckFailed(f"PUT with {why} answered 400 but gave no reason in 'error': let parse_item's "
                              "BadRequest reach the handler")
    after = ctx.http("GET", url).body
    if after != before:
        raise CheckFailed(f"the bad PUTs changed the item from {before} to {after}: validate before you write")


@step("PUT on an unknown id answers 404 and creates nothing: no item, no snapshot", hint=3)
def update_unknown(ctx):
    ghost = f"ghost-{uuid.uuid4().hex[:8]}"
    ctx.cleanup(lambda: _forget(ctx, ghost), f"anything PUT /items/{ghost} created")
    reply = ctx.http("PUT", _items_url(ctx, f"/{ghost}"), {"name": "nobody"})
    if reply.status in (200, 201):
        raise CheckFailed(f"PUT /items/{ghost}, an id that does not exist, answered {reply.status} and created "
                          "the item: write with ConditionExpression=\"attribute_exists(id)\" and answer 404 when "
                          "it fails")
    _expect(reply, 404, f"PUT /items/{ghost} (an id that does not exist)",
            hint=3 if reply.status in (200, 201, 204) else _update_hint(reply.status))
    if ctx.http("GET", _items_url(ctx, f"/{ghost}")).status != 404:
        raise CheckFailed(f"PUT on unknown id {ghost} created an item: write with "
                          "ConditionExpression=\"attribute_exists(id)\"")
    if _snapshot_versions(ctx, ghost):
        raise CheckFailed(f"PUT on unknown id {ghost} answered 404 but stored items/{ghost}.json in S3: "
                          "snapshot only after the write succeeded", hint=4)


@step("DELETE /items/{id} removes the item; GET then answers 404", needs=[create_and_read])
def delete(ctx):
    url = _items_url(ctx, f"/{ctx.item_id}")
    _expect(ctx.http("DELETE", url), 204, f"DELETE /items/{ctx.item_id}")
    _expect(ctx.http("GET", url), 404, "GET after DELETE")

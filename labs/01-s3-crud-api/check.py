"""Lab 01 check: every verb of the items API works over HTTP, and bad input gets a 4xx."""

import uuid

from edalab.checks import CheckFailed, step


def _items_url(ctx, path=""):
    return ctx.api_url(ctx.outputs["ApiId"], "dev", "items" + path)


def _expect(reply, status, doing):
    if reply.status != status:
        raise CheckFailed(f"{doing} answered {reply.status} (expected {status}): {reply.text[:300]}")


@step("The lab's stack is deployed: table, versioned bucket, function and API")
def stack_deployed(ctx):
    outputs = ctx.outputs
    versioning = ctx.client("s3").get_bucket_versioning(Bucket=outputs["SnapshotsBucket"])
    if versioning.get("Status") != "Enabled":
        raise CheckFailed(f"bucket {outputs['SnapshotsBucket']} does not have versioning enabled")


@step("POST /items creates an item and GET /items/{id} reads it back", hint=1)
def create_and_read(ctx):
    reply = ctx.http("POST", _items_url(ctx), {"name": "check lamp", "price": 10})
    _expect(reply, 201, "POST /items")
    item = reply.body
    reply = ctx.http("GET", _items_url(ctx, f"/{item['id']}"))
    _expect(reply, 200, f"GET /items/{item['id']}")
    if reply.body.get("name") != "check lamp":
        raise CheckFailed(f"GET returned {reply.body}, not the item just created")
    ctx.item_id = item["id"]


@step("PUT /items/{id} updates the item (your exercise)", hint=1)
def update(ctx):
    url = _items_url(ctx, f"/{ctx.item_id}")
    reply = ctx.http("PUT", url, {"name": "check lamp v2", "price": 12.5})
    _expect(reply, 200, f"PUT /items/{ctx.item_id}")
    stored = ctx.http("GET", url).body
    if stored.get("name") != "check lamp v2" or stored.get("price") != 12.5:
        raise CheckFailed(f"after PUT, GET shows {stored}: the update was not stored in DynamoDB")


@step("PUT keeps the item's history: a new version of its snapshot in S3", hint=4)
def history(ctx):
    versions = ctx.client("s3").list_object_versions(
        Bucket=ctx.outputs["SnapshotsBucket"], Prefix=f"items/{ctx.item_id}.json"
    ).get("Versions", [])
    if len(versions) < 2:
        raise CheckFailed(
            f"items/{ctx.item_id}.json has {len(versions)} version(s) in "
            f"{ctx.outputs['SnapshotsBucket']}; after an update it should have 2: call snapshot(item)"
        )


@step("PUT with a bad body answers 400 with a reason", hint=2)
def update_validates(ctx):
    url = _items_url(ctx, f"/{ctx.item_id}")
    for body, why in ((b"{not json", "malformed JSON"), (b'{"price": 3}', "a missing name"),
                      (b'{"name": "x", "price": "cheap"}', "a price that is not a number")):
        reply = ctx.http("PUT", url, raw=body)
        _expect(reply, 400, f"PUT with {why}")
        if not (isinstance(reply.body, dict) and reply.body.get("error")):
            raise CheckFailed(f"PUT with {why} answered 400 but gave no reason in 'error'")


@step("PUT on an unknown id answers 404 and creates nothing", hint=3)
def update_unknown(ctx):
    ghost = f"ghost-{uuid.uuid4().hex[:8]}"
    reply = ctx.http("PUT", _items_url(ctx, f"/{ghost}"), {"name": "nobody"})
    _expect(reply, 404, f"PUT /items/{ghost}")
    if ctx.http("GET", _items_url(ctx, f"/{ghost}")).status != 404:
        raise CheckFailed(f"PUT on unknown id {ghost} created an item; use a condition on the write")


@step("DELETE /items/{id} removes the item; GET then answers 404")
def delete(ctx):
    url = _items_url(ctx, f"/{ctx.item_id}")
    _expect(ctx.http("DELETE", url), 204, f"DELETE /items/{ctx.item_id}")
    _expect(ctx.http("GET", url), 404, "GET after DELETE")

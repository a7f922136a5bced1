"""Lab 01 over HTTP with the reference solution: every verb, and bad input never gets a 500;
and its check against near misses, each a solution with one rule of update_item broken."""

from __future__ import annotations

import pytest

from edalab import labs
from support import assert_near_miss_fails, deploy_lab, lab01_api


@pytest.fixture(scope="module")
def api(lab_engine):
    return lab01_api(lab_engine)


def test_create_read_update_list_delete(api):
    created = api("POST", body={"name": "lamp", "price": 10, "tags": ["office"]})
    assert created.status == 201
    item_id = created.body["id"]
    assert api("GET", f"/{item_id}").body == {"id": item_id, "name": "lamp", "price": 10, "tags": ["office"]}
    updated = api("PUT", f"/{item_id}", {"name": "lamp", "price": 12.5})
    assert (updated.status, updated.body) == (200, {"id": item_id, "name": "lamp", "price": 12.5})
    listed = api("GET")
    assert listed.status == 200 and {"id": item_id, "name": "lamp", "price": 12.5} in listed.body["items"]
    assert api("DELETE", f"/{item_id}").status == 204
    assert api("GET", f"/{item_id}").status == 404
    assert api("DELETE", f"/{item_id}").status == 404


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "JSON"),
        (b"", "JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"lamp"', "JSON object"),
        (b'{"price": 3}', "'name' is required"),
        (b'{"name": ""}', "'name' is required"),
        (b'{"name": 42}', "'name' is required"),
        (b'{"name": "x", "price": "cheap"}', "'price' must be a number"),
        (b'{"name": "x", "price": true}', "'price' must be a number"),
        (b'{"name": "x", "price": -1}', "between 0"),
        (b'{"name": "x", "price": Infinity}', "'price' must be a number"),
        (b'{"name": "x", "price": 1e400}', "'price' must be a number"),
        (b'{"name": "x", "tags": "a,b"}', "'tags' must be a list"),
        (b'{"name": "x", "colour": "red"}', "unknown field"),
        (b'{"name": "' + b"x" * 101 + b'"}', "longer than"),
        (b'{"name": "' + b"x" * 300_000 + b'"}', "longer than"),  # a body over 256 KB
        (b"\xff\xfe garbage", "JSON"),
    ],
)
def test_bad_bodies_get_400_with_a_reason(api, raw, reason):
    reply = api("POST", raw=raw)
    assert reply.status == 400, reply.text
    assert reason in reply.body["error"]


def test_unknown_ids_get_404_and_odd_ids_never_500(api):
    assert api("GET", "/does-not-exist").status == 404
    assert api("PUT", "/does-not-exist", {"name": "ghost"}).status == 404
    assert api("GET", "/does-not-exist").status == 404  # the PUT created nothing
    assert api("GET", "/" + "x" * 500).status == 400
    assert api("PATCH", "/anything", {"name": "x"}).status in (404, 405)


# Near misses: the reference update_item with one rule of its TODO broken. The check must fail
# at the step that proves that rule, with a message naming it (and the hint that fits).
APP = "handlers/items_api/app.py"
UPDATE = "PUT /items/{id} replaces the item"
NEAR_MISSES = {
    "no condition: an unknown id is created": (
        [('TABLE.put_item(Item=item, ConditionExpression="attribute_exists(id)")', "TABLE.put_item(Item=item)")],
        "PUT on an unknown id", "and created the item", 3),
    "snapshot before the conditional write": (
        [("    snapshot(item)\n    return reply(200, item)", "    return reply(200, item)"),
         ("    item = {\"id\": item_id, **fields}\n", "    item = {\"id\": item_id, **fields}\n    snapshot(item)\n")],
        "PUT on an unknown id", "stored items/", 4),
    "no snapshot": ([("    snapshot(item)\n    return reply(200, item)", "    return reply(200, item)")],
                    "PUT keeps the item's history", "1 version(s)", 4),
    "the raw body, not parse_item": ([("fields = parse_item(event)",
                                       "fields = json.loads(event[\"body\"], parse_float=Decimal)")],
                                     UPDATE, "parse_item", 2),
    "merged into the old item": (
        [("item = {\"id\": item_id, **fields}",
          "item = {**TABLE.get_item(Key={\"id\": item_id}).get(\"Item\", {}), \"id\": item_id, **fields}")],
        UPDATE, "replaces the whole item", 4),
    "answers with the fields, not the item": ([("snapshot(item)\n    return reply(200, item)",
                                                "snapshot(item)\n    return reply(200, fields)")],
                                              UPDATE, "must answer with the updated item", 4),
    "a new id instead of the path's": ([("item = {\"id\": item_id, **fields}", "item = {\"id\": str(uuid.uuid4()), **fields}")],
                                       UPDATE, "the id from the path", 3),
}


@pytest.fixture(scope="module")
def near_miss_lab(lab_engine):
    """Lab 01 for near misses; the reference solution is deployed again once they are done."""
    lab = labs.find("01")
    yield lab
    deploy_lab(lab, lab_engine.endpoint, solution=True)


@pytest.mark.parametrize("name", NEAR_MISSES)
def test_the_check_fails_each_near_miss_at_the_step_that_proves_its_rule(lab_engine, near_miss_lab, tmp_path, name):
    edits, step_title, said, hint = NEAR_MISSES[name]
    assert_near_miss_fails(near_miss_lab, lab_engine.endpoint, tmp_path / "near-miss", {APP: edits},
                           step_title, said, hint)

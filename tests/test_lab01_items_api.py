"""Lab 01 over HTTP with the reference solution: every verb, and bad input never gets a 500."""

from __future__ import annotations

import pytest

from support import lab01_api


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

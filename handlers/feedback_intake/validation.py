"""What a feedback submission must look like, checked all at once.

Why this exists: the intake answers a bad submission with every reason in one reply, so a
customer (or a form) fixes everything in one go instead of one error per attempt. This module
is pure (no AWS calls): the raw request body in, either the clean feedback or the list of
reasons out, so it is the same on the local engine and on AWS and easy to read on its own.
"""

from __future__ import annotations

import json
import re

FIELDS = ("name", "email", "rating", "message", "order_id")
REQUIRED = ("name", "email", "rating", "message")
MAX_BODY_BYTES = 16 * 1024  # a 2,000-character message in any script fits with room to spare
MAX_NAME = 100
MAX_EMAIL = 254  # the longest address SMTP carries
MAX_MESSAGE = 2_000
MAX_ORDER_ID = 64
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def correlation_id_problem(value: str | None) -> str | None:
    """Why a caller's X-Correlation-Id cannot be used (None when it can, or when none was sent)."""
    if value is None or CORRELATION_ID.match(value):
        return None
    shown = value if len(value) <= 40 else value[:40] + "..."
    return (f"the X-Correlation-Id header {shown!r} is not a short printable id: use 1 to 64 characters "
            "of A-Z a-z 0-9 . _ : - (or leave the header out and one is made for you)")


def decode_body(body: str | bytes | None) -> tuple[object | None, list[str]]:
    """The JSON document in a request body, or the reasons there is none."""
    if body is None or (isinstance(body, (str, bytes)) and not body.strip()):
        return None, ['the body is empty: send a JSON object such as {"name": "Ada", "email": '
                      '"ada@example.com", "rating": 5, "message": "Quick delivery"}']
    raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        return None, [f"the body is {len(raw):,} bytes; a feedback may be at most {MAX_BODY_BYTES:,} bytes "
                      f"(the message itself at most {MAX_MESSAGE:,} characters)"]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, [f"the body is not UTF-8 text (byte {error.start} cannot be read): send the JSON as UTF-8"]
    if "\ufffd" in text:
        # API Gateway turns bytes that are not UTF-8 into U+FFFD before the function sees them
        return None, ["the body is not UTF-8 text (it holds bytes that had to be replaced): send the JSON as UTF-8"]
    try:
        return json.loads(text), []
    except RecursionError:
        return None, ["the body nests lists or objects too deeply to read: send a flat JSON object"]
    except ValueError as error:
        start = text.strip()[:40]
        if start.startswith(("%7B", "%5B")):  # a form: curl -d without a Content-Type sends one
            return None, [f"the body is form-encoded ({start!r}...), not JSON: send it with the header "
                          "Content-Type: application/json"]
        return None, [f"the body is not valid JSON ({error}; it starts {start!r}): send a JSON object"]


def _text(document: dict, field: str, longest: int, errors: list[str]) -> None:
    value = document[field]
    if not isinstance(value, str):
        errors.append(f"'{field}' must be a string, not {_kind(value)}")
    elif not value.strip():
        errors.append(f"'{field}' must not be empty")
    elif len(value) > longest:
        errors.append(f"'{field}' is {len(value):,} characters; at most {longest:,} are allowed")
    elif _has_lone_surrogate(value):
        errors.append(f"'{field}' holds an unpaired surrogate escape (\\ud800-\\udfff), which is not text")


def validate(document: object) -> tuple[dict | None, list[str]]:
    """The feedback's fields, or every reason it is refused."""
    if not isinstance(document, dict):
        return None, [f"the body must be a JSON object, not {_kind(document)}"]
    errors = []
    unknown = sorted(set(document) - set(FIELDS))
    if unknown:
        errors.append(f"unknown field(s) {', '.join(repr(u) for u in unknown)}; allowed: {', '.join(FIELDS)}")
    missing = [f for f in REQUIRED if f not in document]
    if missing:
        errors.append(f"missing field(s) {', '.join(repr(m) for m in missing)}")
    if "name" in document:
        _text(document, "name", MAX_NAME, errors)
    if "email" in document:
        before = len(errors)
        _text(document, "email", MAX_EMAIL, errors)
        if len(errors) == before and not EMAIL.match(document["email"]):
            errors.append(f"'email' {document['email']!r} is not an email address like ada@example.com")
    if "rating" in document:
        rating = document["rating"]
        if type(rating) is not int:
            shown = repr(rating) if isinstance(rating, float) else _kind(rating)
            errors.append(f"'rating' must be a whole number from 1 to 5, not {shown}")
        elif not 1 <= rating <= 5:
            errors.append(f"'rating' must be from 1 to 5, not {rating}")
    if "message" in document:
        _text(document, "message", MAX_MESSAGE, errors)
    if "order_id" in document:
        order_id = document["order_id"]
        # An empty order id passes here (the form sends "" when the customer leaves the box
        # empty); see the lab's README, "An order id the table cannot index".
        if not isinstance(order_id, str):
            errors.append(f"'order_id' must be a string, not {_kind(order_id)}")
        elif len(order_id) > MAX_ORDER_ID:
            errors.append(f"'order_id' is {len(order_id):,} characters; at most {MAX_ORDER_ID} are allowed")
        elif _has_lone_surrogate(order_id):
            errors.append("'order_id' holds an unpaired surrogate escape (\\ud800-\\udfff), which is not text")
    if errors:
        return None, errors
    return {f: document[f] for f in FIELDS if f in document}, []


def _has_lone_surrogate(value: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in value)


def _kind(value: object) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list",
             dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)

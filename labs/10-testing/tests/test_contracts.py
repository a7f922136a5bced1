"""Contract tests: the shape of each event lab 02's flow carries is a JSON Schema in
labs/10-testing/contracts/, and both sides are tested against it:
  - the consumer (validate()) accepts every order the schema accepts, and rejects every other
    with a reason naming the field at fault;
  - the producer (transform()) only ever writes summaries the schema accepts.
When someone changes the schema, the code or a producer, one of these fails first.

Run them:  .venv/bin/python -m pytest labs/10-testing/tests/test_contracts.py -q
"""

import pytest

from edalab.testing import contracts

UPLOAD = contracts.load_schema("labs/10-testing/contracts/order-upload.schema.json")
SUMMARY = contracts.load_schema("labs/10-testing/contracts/upload-summary.schema.json")

LAMP = {"sku": "lamp", "qty": 1, "unit_price": 2.5}
VALID = {
    "one item": {"order_id": "C-1", "customer": "Ada", "items": [LAMP]},
    "a free item": {"order_id": "C-2", "customer": "Bo", "items": [{"sku": "gift", "qty": 1, "unit_price": 0}]},
    "0.1 + 0.2": {"order_id": "C-3", "customer": " Cy ", "items": [{"sku": "a", "qty": 1, "unit_price": 0.1},
                                                                   {"sku": "b", "qty": 1, "unit_price": 0.2}]},
    "many pieces": {"order_id": "C-4", "customer": "Di", "items": [{"sku": "nut", "qty": 1000, "unit_price": 0.07}]},
}
# (the order, the field its reason must name)
INVALID = {
    "no customer": ({"order_id": "C-5", "items": [LAMP]}, "customer"),
    "a blank customer": ({"order_id": "C-6", "customer": "  ", "items": [LAMP]}, "customer"),
    "order_id a number": ({"order_id": 6, "customer": "Ed", "items": [LAMP]}, "order_id"),
    "no items": ({"order_id": "C-7", "customer": "Ed", "items": []}, "items"),
    "qty true": ({"order_id": "C-8", "customer": "Ed", "items": [{**LAMP, "qty": True}]}, "qty"),
    "qty 0": ({"order_id": "C-9", "customer": "Ed", "items": [LAMP, {**LAMP, "qty": 0}]}, "qty"),
    "a negative price": ({"order_id": "C-10", "customer": "Ed", "items": [{**LAMP, "unit_price": -1}]}, "unit_price"),
    "a list, not an order": ([LAMP], "object"),
}


def test_the_examples_are_what_the_schema_says():
    """Keeps the examples honest: each valid one matches, each invalid one breaks the schema."""
    for name, order in VALID.items():
        contracts.assert_valid(order, UPLOAD, what=name)
    for name, (order, _) in INVALID.items():
        assert not contracts.is_valid(order, UPLOAD), f"{name} matches the schema"


@pytest.mark.parametrize("name", VALID)
def test_the_consumer_accepts_every_valid_order(processor, name):
    assert processor.validate(VALID[name]) == VALID[name]


@pytest.mark.parametrize("name", INVALID)
def test_the_consumer_rejects_every_invalid_order_with_a_reason(processor, name):
    order, field = INVALID[name]
    with pytest.raises(processor.InvalidUpload) as refused:
        processor.validate(order)
    assert field in str(refused.value), f"{name}: the reason {str(refused.value)!r} does not name {field}"


@pytest.mark.parametrize("name", VALID)
def test_the_producer_writes_only_valid_summaries(processor, name):
    contracts.assert_valid(processor.transform(VALID[name]), SUMMARY, what=f"the summary of {name}")

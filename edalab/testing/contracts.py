"""Contract tests: an event either matches its JSON Schema, or the reasons say where it does not.

Why this exists: a producer and a consumer of an event agree on its shape in a schema file
both sides test against, so a change on one side fails a test before it fails in production.
We use JSON Schema through `jsonschema` (not pydantic models) because a schema is a plain file
every language reads: a producer in TypeScript, the consumer in Python and EventBridge's schema
registry can share it, and a reviewer reads it without knowing our code. The reasons name the
field at fault (`items/1/qty: -1 is less than the minimum of 1`), so the test failure says
what to change.

    from edalab.testing import contracts

    schema = contracts.load_schema("labs/10-testing/contracts/order-upload.schema.json")
    contracts.assert_valid(order, schema)             # AssertionError listing every reason
    contracts.reasons({"order_id": 1}, schema)
    # ["(root): 'customer' is a required property", "(root): 'items' is a required property",
    #  "order_id: 1 is not of type 'string'"]
"""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from edalab import settings


class ContractError(ValueError):
    """The schema file itself cannot be used (missing, not JSON, not a valid JSON Schema)."""


def load_schema(path: str | Path) -> dict:
    """Reads a schema file (relative paths from the repository's root) and checks that it is a
    valid Draft 2020-12 schema; raises ContractError saying what is wrong with the file."""
    file = Path(path) if Path(path).is_absolute() else settings.REPO_ROOT / path
    try:
        schema = json.loads(file.read_text())
        Draft202012Validator.check_schema(schema)
    except OSError as error:
        raise ContractError(f"cannot read the schema {file}: {error.strerror}") from None
    except ValueError as error:
        raise ContractError(f"{file} is not JSON: {error}") from None
    except SchemaError as error:
        raise ContractError(f"{file} is not a valid JSON Schema: {error.message}") from None
    return schema


def reasons(instance, schema: dict) -> list[str]:
    """Every way `instance` breaks `schema`, each as `path: what is wrong` (`(root)` for the
    whole document), sorted by path; [] when it is valid."""
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    found = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}" for error in found]


def is_valid(instance, schema: dict) -> bool:
    return not reasons(instance, schema)


def assert_valid(instance, schema: dict, what: str = "the event") -> None:
    """Raises AssertionError listing every reason when `instance` breaks `schema`."""
    found = reasons(instance, schema)
    if found:
        title = schema.get("title", "its schema")
        raise AssertionError(f"{what} does not match {title}:\n" + "\n".join(f"  - {r}" for r in found))

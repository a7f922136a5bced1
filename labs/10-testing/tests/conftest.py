"""What the lab's unit tests share: a handler imported from its file, with its AWS calls
replaced by small in-memory fakes (a unit test runs without the engine, in milliseconds).

Integration and end-to-end tests (test_integration_*.py, test_uploads_e2e.py) use the running
engine through edalab.testing.integration instead, and fake nothing.
"""

import importlib.util
import io
import json
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def load_handler(relative_path: str, monkeypatch, **env):
    """Imports the handler file at `relative_path` as a fresh module, with `env` set (plus a
    region and dummy credentials, so creating boto3 clients at import works offline)."""
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test",
                        "AWS_SECRET_ACCESS_KEY": "test", **env}.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location(f"handler_{uuid.uuid4().hex}", REPO / relative_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeTable:
    """The few DynamoDB Table calls the handlers make, on a dict."""

    def __init__(self, key: str):
        self.key, self.items = key, {}

    def put_item(self, Item, **_):  # noqa: N803 - boto3's argument names
        self.items[Item[self.key]] = Item

    def get_item(self, Key, **_):  # noqa: N803
        found = self.items.get(Key[self.key])
        return {"Item": found} if found else {}


class FakeS3:
    """get_object / put_object on a dict of key -> bytes (one bucket is enough here)."""

    def __init__(self, objects: dict[str, bytes] | None = None):
        self.objects = dict(objects or {})

    def get_object(self, Bucket, Key):  # noqa: N803
        body = self.objects[Key]
        return {"Body": io.BytesIO(body), "ContentLength": len(body)}

    def put_object(self, Bucket, Key, Body, **_):  # noqa: N803
        self.objects[Key] = Body if isinstance(Body, bytes) else Body.encode()

    def json(self, key: str):
        return json.loads(self.objects[key])


@pytest.fixture
def processor(monkeypatch):
    """Lab 02's processor (the code lab 10 deploys) with a fake bucket and status table."""
    app = load_handler("handlers/tested_processor/app.py", monkeypatch, STATUS_TABLE="edalab-tested-status")
    monkeypatch.setattr(app, "S3", FakeS3())
    monkeypatch.setattr(app, "STATUS", FakeTable("key"))
    return app

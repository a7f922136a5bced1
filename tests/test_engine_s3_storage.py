"""Each engine keeps its S3 objects' bytes in its own state folder.

Stock LocalStack writes them under /tmp/localstack-s3-storage/<bucket>/, shared by every engine
on the machine, so deleting or resetting a bucket in one engine (a test's reset, a learner's
`make reset` while `make test` runs) broke another engine's objects of the same bucket name."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path("/tmp/localstack-s3-storage")


def test_object_bytes_live_in_the_engines_own_state_folder(engine, unique):
    if engine.host is None:
        pytest.skip("a container engine has a /tmp of its own")
    s3, bucket = engine.client("s3"), f"storage-{unique}"
    s3.create_bucket(Bucket=bucket)
    try:
        s3.put_object(Bucket=bucket, Key="a.txt", Body=b"mine")
        own = [p for p in (engine.host.state / "filesystem").rglob("*") if p.is_dir() and p.name == bucket]
        assert own, f"no folder for {bucket} under the engine's state folder"
        assert not (SHARED / bucket).exists(), f"{bucket} was written to the folder every engine shares"
        assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"mine"
    finally:
        s3.delete_object(Bucket=bucket, Key="a.txt")
        s3.delete_bucket(Bucket=bucket)

"""S3's object bytes, which LocalStack keeps in memory beside its stores.

Why this exists: S3's stores hold each object's metadata; the bytes live in the provider's
`EphemeralS3ObjectStore`, spooled temporary files keyed by `hash(key?version)`, which Python
salts per process, so the files cannot be pickled as they are and found again by a new engine.
We save each object's bytes by bucket, key and version (the same in every process) and, after
the stores are loaded, file them under the live process's keys. This also brings back Lambda's
code: LocalStack keeps function zips as objects in an internal account's bucket.
"""

from __future__ import annotations

from pathlib import Path

from localstack.services.s3.models import s3_stores
from localstack.services.s3.storage.ephemeral import (
    S3_MAX_FILE_SIZE_BYTES,
    EphemeralS3ObjectStore,
    LockedSpooledTemporaryFile,
)
from localstack.state import pickle as state_pickle


def _objects():
    """(bucket name, S3Object) for every stored object version (delete markers have no bytes)."""
    for _, _, store in s3_stores.iter_stores():
        for bucket in list(store.buckets.values()):
            for s3_object in bucket.objects.values(with_versions=True):
                if hasattr(s3_object, "size"):
                    yield bucket.name, s3_object


def _ephemeral(storage) -> EphemeralS3ObjectStore:
    if not isinstance(storage, EphemeralS3ObjectStore):
        raise TypeError(f"S3 keeps objects in a {type(storage).__name__}, which the snapshot does not read")
    return storage


def save(storage, folder: Path) -> int:
    """Writes every object's bytes; returns how many."""
    storage = _ephemeral(storage)
    saved: dict[tuple[str, str, str | None], bytes] = {}
    for bucket, s3_object in _objects():
        with storage.open(bucket, s3_object, mode="r") as stored:
            saved[(bucket, s3_object.key, s3_object.version_id)] = stored.read()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "objects.pickle", "wb") as out:
        state_pickle.dump(saved, out)
    return len(saved)


def read(folder: Path) -> dict:
    with open(folder / "objects.pickle", "rb") as saved_file:
        return state_pickle.load(saved_file)


def apply(storage, saved: dict) -> None:
    """Empties the object store and files the saved bytes under the loaded stores' objects."""
    storage = _ephemeral(storage)
    storage.close()
    storage._filesystem.clear()
    for bucket, s3_object in _objects():
        data = saved.get((bucket, s3_object.key, s3_object.version_id))
        if data is None:
            continue
        storage.create_bucket(bucket)
        file = LockedSpooledTemporaryFile(dir=str(Path(storage.root_directory) / bucket),
                                          max_size=S3_MAX_FILE_SIZE_BYTES)
        file.write(data)
        file.seek(0)
        file.internal_last_modified = s3_object.internal_last_modified
        storage._filesystem[bucket]["keys"][storage._key_from_s3_object(s3_object)] = file

"""Each engine keeps its S3 objects' bytes in its own state folder, not in a folder every engine shares.

Why this exists: LocalStack's S3 provider writes object bytes under a fixed path,
`/tmp/localstack-s3-storage/<bucket>/` (`DEFAULT_S3_TMP_DIR` in localstack/services/s3/provider.py),
whatever its state folder is. Every engine on a machine shares it: a learner's engine, the four
engines of `make test`, the bench's. Buckets have the same names in every engine (the labs'), so
deleting a bucket or resetting S3 in one engine (a test's `make reset`, a stack deleted) removed
the files of another engine's objects, which then answered `InternalError: No such file or
directory` on the next read or write: seen as a failed 10,000-upload run while another test
reset its engine. This hook points the provider at `<engine tmp>/s3-storage` (the host engine's
tmp is inside its state folder and is cleared at each start) before S3 is first imported, so it
takes effect when the provider is made. EDALAB_STOCK_SERVICES=s3 leaves LocalStack's path.
"""

from __future__ import annotations

import logging
import os

from localstack.runtime import hooks

from edalab.plugins import uses_stock
from edalab.plugins.on_import import when_imported

LOG = logging.getLogger(__name__)


def storage_folder() -> str:
    """This engine's own folder for object bytes: `s3-storage` in LocalStack's tmp folder."""
    from localstack import config

    return os.path.join(config.dirs.tmp, "s3-storage")


def _use_the_engines_folder(provider_module) -> None:
    provider_module.DEFAULT_S3_TMP_DIR = storage_folder()


@hooks.on_infra_start()
def keep_s3_objects_in_the_state_folder():
    if uses_stock("s3") or not os.environ.get("EDALAB_STATE_DIR"):
        return  # a container engine has a /tmp of its own
    when_imported("localstack.services.s3.provider", _use_the_engines_folder)
    LOG.info("edalab: S3 keeps object bytes in %s", storage_folder())

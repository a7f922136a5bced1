"""boto3 clients for the local engine, and nothing else.

Why this exists: every script, check and test gets its clients here, so each one passes the
safety guard (local endpoint, dummy credentials, fixed region) without having to remember it.
"""

from __future__ import annotations

from functools import lru_cache

import boto3
import botocore.session
from botocore.config import Config

from edalab import settings
from edalab.safety import require_local_endpoint

_CLIENT_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=60)


@lru_cache(maxsize=8)
def _session(endpoint: str) -> boto3.session.Session:
    # Explicit credentials and region, and the default profile whatever AWS_PROFILE says:
    # boto3 must not pick up the user's keys, nor fail on a profile this machine lacks.
    core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    return boto3.session.Session(
        botocore_session=core, region_name=settings.REGION, **settings.DUMMY_CREDENTIALS
    )


def client(service: str, endpoint: str | None = None, config: Config | None = None):
    """A boto3 client for `service` on the local engine (refuses a non-local endpoint).
    `config` overrides parts of the shared settings (retries, timeouts) for this client."""
    url = require_local_endpoint(endpoint or settings.endpoint())
    return _session(url).client(service, endpoint_url=url,
                                config=_CLIENT_CONFIG.merge(config) if config else _CLIENT_CONFIG)


def resource(service: str, endpoint: str | None = None):
    url = require_local_endpoint(endpoint or settings.endpoint())
    return _session(url).resource(service, endpoint_url=url, config=_CLIENT_CONFIG)

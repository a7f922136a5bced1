"""The guard that keeps every command of this project away from real AWS accounts.

Why this exists: learners often have real AWS credentials in their shell. A workshop tool
that sent even one request with them to a real endpoint could create billable resources or
delete real data. So every client this project builds (a) talks only to an endpoint on this
machine (loopback, or the compose service `localstack`), and (b) signs with dummy
credentials, whatever the environment holds. A non-local endpoint stops the command before
anything is sent, with a message that says what to do.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

# Names that reach the engine without leaving the machine (or the compose network).
LOCAL_HOSTNAMES = {"localhost", "localstack", "host.docker.internal"}


class UnsafeEndpointError(RuntimeError):
    """Raised before any request is sent to an endpoint that is not this machine's engine."""


def is_local_endpoint(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname.lower()
    if host in LOCAL_HOSTNAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_local_endpoint(url: str) -> str:
    """Returns `url` if it is local; otherwise refuses, naming the fix."""
    if not is_local_endpoint(url):
        raise UnsafeEndpointError(
            f"Refusing to talk to {url!r}: EDA Lab only talks to a local engine "
            "(http://localhost:PORT, 127.0.0.1, or the compose service 'localstack'). "
            "Unset EDALAB_ENDPOINT, or point it at your local engine, e.g. "
            "EDALAB_ENDPOINT=http://localhost:4566."
        )
    return url

"""Asking an engine whether it is up, and waiting (with a deadline) until it is.

Why this exists: both engine modes and the test fixtures wait for the same signal,
LocalStack's `/_localstack/health`, and must give up with a clear message, not hang.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from edalab.safety import require_local_endpoint


class EngineNotHealthy(RuntimeError):
    pass


def health(endpoint: str) -> dict | None:
    """The engine's health document, or None when nothing answers."""
    url = require_local_endpoint(endpoint).rstrip("/") + "/_localstack/health"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def is_healthy(endpoint: str) -> bool:
    return health(endpoint) is not None


# How often a start asks: the engine answers within ~1 s, and an asking that finds the port closed
# costs well under a millisecond, so asking every 20 ms (not 100) gives the answer ~40 ms sooner.
POLL_SECONDS = 0.02


def wait_healthy(endpoint: str, timeout: float, alive: Callable[[], bool] = lambda: True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_healthy(endpoint):
            return
        if not alive():
            raise EngineNotHealthy(f"the engine exited before it answered on {endpoint}")
        time.sleep(POLL_SECONDS)
    raise EngineNotHealthy(f"the engine did not answer on {endpoint} within {timeout:.0f} s")

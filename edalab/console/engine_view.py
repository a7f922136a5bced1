"""The console's one door to the engine: AWS clients, developer endpoints, and the shared cache.

Why this exists: every page reads the engine, and only through what works in both engine
modes: the AWS APIs (boto3 clients from `edalab.aws`, which refuse a non-local endpoint and
sign with dummy credentials) and LocalStack's documented developer endpoints (`/_aws/...`,
`/_localstack/health`). Answers go through one `TtlCache`, so ten open tabs polling the same
page cost the engine what one tab does.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.config import Config

from edalab import aws
from edalab.console.cache import TtlCache
from edalab.safety import require_local_endpoint

CONSOLE_CLIENT_CONFIG = Config(user_agent_appid="edalab-console")
LIVE_TTL = 1.0  # seconds an answer is shared between polls (pages poll every 1-2 s)


class EngineUnavailable(RuntimeError):
    """The engine does not answer; pages say so instead of failing."""


@dataclass
class EngineView:
    endpoint: str
    state_dir: Path
    mode: str = "host"
    cache: TtlCache = field(default_factory=TtlCache)
    started_at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        require_local_endpoint(self.endpoint)
        self._clients: dict[str, Any] = {}

    def client(self, service: str):
        """A boto3 client for `service` (thread-safe to share; built once)."""
        if service not in self._clients:
            # the SDK app id marks the console's calls for the engine's usage meter (caller "console")
            self._clients[service] = aws.client(service, self.endpoint, config=CONSOLE_CLIENT_CONFIG)
        return self._clients[service]

    def cached(self, key: tuple, compute: Callable[[], Any], ttl: float = LIVE_TTL) -> Any:
        return self.cache.get(key, ttl, compute)

    def developer(self, path: str, params: dict | None = None, method: str = "GET", timeout: float = 5) -> Any:
        """JSON from one of LocalStack's developer endpoints, e.g. `/_aws/sqs/messages`."""
        url = self.endpoint.rstrip("/") + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(url, method=method, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            raise EngineUnavailable(f"{path} answered {error.code}: {error.read()[:300]!r}") from error
        except (urllib.error.URLError, OSError) as error:
            raise EngineUnavailable(f"the engine at {self.endpoint} does not answer ({error})") from error
        return json.loads(body) if body else None

    def health(self) -> dict | None:
        """The engine's health document, or None when it does not answer (cached briefly)."""
        def read() -> dict | None:
            try:
                return self.developer("/_localstack/health", timeout=2)
            except EngineUnavailable:
                return None
        return self.cached(("health",), read)

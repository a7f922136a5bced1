"""The container engine: LocalStack's pinned image under `docker compose`.

Why this exists: where a Docker engine runs, the stock image is the closest thing to what a
team would use, with Lambda functions in real containers. `docker-compose.yml` at the top of
the repository is the single description of it; this module only drives compose, handing it
the port (compose maps EDALAB_PORT) and recording that port in the state folder while the
container runs, as host mode does.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass

from edalab import settings
from edalab.engine.health import is_healthy, wait_healthy


def docker_engine_answers() -> bool:
    """True when a Docker engine (not just the client) answers."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # the docker SDK raises many kinds when no engine is there
        return False


def _compose(*args: str, port: int, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", "compose", "-f", str(settings.REPO_ROOT / "docker-compose.yml"), *args],
        check=check,
        cwd=settings.REPO_ROOT,
        env={**os.environ, "EDALAB_PORT": str(port)},  # a remembered port, not only a set one
        capture_output=True,
        text=True,
    )


@dataclass
class ContainerEngine:
    port: int

    @classmethod
    def default(cls) -> ContainerEngine:
        return cls(settings.port())

    @property
    def endpoint(self) -> str:
        return f"http://localhost:{self.port}"

    def is_up(self) -> bool:
        return is_healthy(self.endpoint)

    def crashed(self) -> bool:
        return False

    def start(self, timeout: float = 180.0) -> float:
        started = time.monotonic()
        _compose("up", "--detach", "--wait", "--wait-timeout", str(int(timeout)), port=self.port)
        settings.remember_port(self.port)
        wait_healthy(self.endpoint, timeout)
        return time.monotonic() - started

    def stop(self, graceful: bool = True) -> list[str]:
        _compose("down", "--volumes", "--timeout", "10" if graceful else "0", port=self.port)
        settings.forget_port()
        return ["containers removed"]

    def logs(self) -> str:
        return _compose("logs", "--no-color", "--tail", "500", port=self.port, check=False).stdout

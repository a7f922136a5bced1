"""Where things are and how the engine is configured: one place for paths, ports and names.

Why this exists: the Makefile, the scripts, the checks and the tests must agree on the
endpoint, the state folder and the engine's settings; reading them from one module keeps a
learner's shell, an instructor's laptop and CI on the same values.

Environment variables a user may set:
  EDALAB_ENGINE      host | container (default: container when a Docker engine answers)
  EDALAB_PORT        the engine's port on localhost (default: the port of the engine running
                     from this state folder, remembered in it by `make up`, else 4566, what
                     `awslocal` expects)
  EDALAB_ENDPOINT    talk to an engine that is already running at this URL (must be local)
  EDALAB_STATE_DIR   where the host engine keeps its pid, log and files (default .edalab/)
  EDALAB_LAMBDA_CPU  tagged | all | off: which functions get a CPU share proportional to their
                     memory, as on Lambda (default tagged: those tagged edalab:cpu-share=proportional;
                     see edalab/plugins/lambda_/cpu_share.py; EDALAB_LAMBDA_CPU_ROOT moves the cgroup root)
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT_ID = "000000000000"
# Dummy credentials: every client this project makes uses these, never the user's own.
DUMMY_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
DEFAULT_PORT = 4566
# The file in the state folder where a started engine leaves its port, so a later command in
# a shell without EDALAB_PORT finds it; the engine's stop removes it.
PORT_RECORD = "engine.port"
CONTAINER_IMAGE = "localstack/localstack:4.14.0"

# Event source mappings. SQS mappings long-poll through our plugin
# (edalab/plugins/lambda_/sqs_polling.py): a message reaches an idle mapping's function in about
# 20 ms, and the back-off below no longer applies to them. The interval is the pause after each
# poll turn: at 0.1 s it capped a busy mapping at one batch per 0.1 s (lab 02: 1,000 uploads in
# 44 s; with 0, 25 s), so it stays 0. The back-off still governs the stream mappings (Kinesis,
# DynamoDB Streams), and every mapping on the stock engine (EDALAB_STOCK_SERVICES=lambda), where
# LocalStack's default (up to 10 s on an empty queue) would make a message wait that long.
ESM_POLL_INTERVAL_SEC = "0"
ESM_MAX_BACKOFF_ON_EMPTY_SEC = "0.5"
SQS_METRICS_INTERVAL_SEC = "5"
# A failed asynchronous invoke is retried after 1x, then 2x this many seconds. AWS waits about
# a minute, then two; here a learner sees the on-failure destination fill within seconds.
ASYNC_RETRY_BASE_DELAY_SEC = "2"


class SettingError(ValueError):
    """An environment variable of ours holds something we cannot use; says what to set."""


def port() -> int:
    """EDALAB_PORT when set; else the port the running engine was started on; else 4566."""
    explicit = (os.environ.get("EDALAB_PORT") or "").strip()
    if explicit:
        if not explicit.isdigit() or not 1 <= int(explicit) <= 65535:
            raise SettingError(f"EDALAB_PORT={explicit!r} is not a port number: set a number such as "
                               f"EDALAB_PORT=4577, or unset it for the default ({DEFAULT_PORT})")
        return int(explicit)
    return running_port() or DEFAULT_PORT


DEFAULT_CONSOLE_PORT = 8080


def console_port() -> int:
    """EDALAB_CONSOLE_PORT when set, else 8080: where `make console` serves the console."""
    explicit = (os.environ.get("EDALAB_CONSOLE_PORT") or "").strip()
    if not explicit:
        return DEFAULT_CONSOLE_PORT
    if not explicit.isdigit() or not 1 <= int(explicit) <= 65535:
        raise SettingError(f"EDALAB_CONSOLE_PORT={explicit!r} is not a port number: set a number such as "
                           f"EDALAB_CONSOLE_PORT=8081, or unset it for the default ({DEFAULT_CONSOLE_PORT})")
    return int(explicit)


def state_dir() -> Path:
    return Path(os.environ.get("EDALAB_STATE_DIR") or REPO_ROOT / ".edalab").resolve()


def running_port(state: Path | None = None) -> int | None:
    """The port an engine started from this state folder recorded, while something still
    listens on it. A record left by an engine that was killed (nothing listens) is ignored,
    so `make up` then starts on the default or given port, not on a dead engine's."""
    try:
        recorded = int(((state or state_dir()) / PORT_RECORD).read_text())
    except (OSError, ValueError):
        return None
    return recorded if _listening(recorded) else None


def remember_port(gateway_port: int, state: Path | None = None) -> None:
    folder = state or state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / PORT_RECORD).write_text(str(gateway_port))


def forget_port(state: Path | None = None) -> None:
    ((state or state_dir()) / PORT_RECORD).unlink(missing_ok=True)


def _listening(gateway_port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", gateway_port), timeout=0.5):
            return True
    except OSError:
        return False


def endpoint() -> str:
    return os.environ.get("EDALAB_ENDPOINT") or f"http://localhost:{port()}"


def engine_settings(gateway_port: int) -> dict[str, str]:
    """LocalStack settings shared by both engine modes (the container adds its own)."""
    return {
        "GATEWAY_LISTEN": f"127.0.0.1:{gateway_port}",
        # URLs LocalStack hands out (queue URLs, API endpoints) must work with no DNS:
        # `*.localhost.localstack.cloud` needs a public resolver, which offline CI lacks.
        "LOCALSTACK_HOST": f"localhost:{gateway_port}",
        "SQS_ENDPOINT_STRATEGY": "path",
        "LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC": ESM_POLL_INTERVAL_SEC,
        "LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC": ESM_MAX_BACKOFF_ON_EMPTY_SEC,
        # SQS publishes queue metrics (depth, age) to CloudWatch this often; AWS does every
        # minute, which would make a learner wait a minute for a dead-letter alarm.
        "SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL": SQS_METRICS_INTERVAL_SEC,
        "LAMBDA_RETRY_BASE_DELAY": ASYNC_RETRY_BASE_DELAY_SEC,
        "DISABLE_EVENTS": "1",  # no analytics calls home
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        **_our_providers(),
    }


def host_engine_settings(gateway_port: int, state: Path) -> dict[str, str]:
    """Settings for LocalStack run as a local process with this project's plugins."""
    return {
        **engine_settings(gateway_port),
        "OVERRIDE_IN_DOCKER": "0",  # the machine may itself be a container; use host paths
        "FILESYSTEM_ROOT": str(state / "filesystem"),
        "EDALAB_STATE_DIR": str(state),
        "LAMBDA_RUNTIME_EXECUTOR": "local",
        "PROVIDER_OVERRIDE_DYNAMODB": "moto",
        "DNS_ADDRESS": "0",  # LocalStack's DNS server would want port 53
    }


# Services whose provider is ours (edalab/plugins/<service>/provider.py): LocalStack's own with
# the behaviour AWS documents added. Both modes select them (the container's boot hook registers
# the plugins, scripts/container-boot.sh). EDALAB_STOCK_SERVICES=logs,… keeps LocalStack's.
OUR_PROVIDERS = ("logs", "cloudwatch", "events")


def _our_providers() -> dict[str, str]:
    from edalab.plugins import uses_stock

    return {f"PROVIDER_OVERRIDE_{name.upper()}": "edalab" for name in OUR_PROVIDERS if not uses_stock(name)}

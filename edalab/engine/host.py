"""The host engine: LocalStack as a local process, started, watched and stopped by us.

Why this exists: on machines with no Docker engine (this project's CI, many company laptops)
LocalStack runs as a plain process from the project's virtualenv, with our Lambda executor and
DynamoDB provider. This module starts it in the background with its pid and log under the
state folder, knows whether it is up, and stops it for sure: LocalStack has been seen ignoring
SIGTERM for minutes once a Lambda had run, so a stop escalates to SIGKILL and then removes any
function process that is left. The port it listens on is recorded in the state folder while it
runs, so commands in a shell without EDALAB_PORT find it (see settings.port()).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from edalab import settings
from edalab.engine.health import EngineNotHealthy, is_healthy, wait_healthy
from edalab.plugins.lambda_.function_process import is_running

STOP_GRACE_SECONDS = 2.0  # LocalStack often ignores SIGTERM once a Lambda ran; its state is in memory anyway
STOP_TOTAL_SECONDS = 10.0


@dataclass
class HostEngine:
    state: Path
    port: int

    @classmethod
    def default(cls) -> HostEngine:
        return cls(settings.state_dir(), settings.port())

    @property
    def endpoint(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.state / "engine.log"

    @property
    def _pid_file(self) -> Path:
        return self.state / "engine.pid"

    @property
    def _functions_dir(self) -> Path:
        return self.state / "functions"

    # -- queries ------------------------------------------------------------------------------
    def pid(self) -> int | None:
        """The engine's pid if that process is alive and is our engine."""
        try:
            pid = int(self._pid_file.read_text())
            proc = psutil.Process(pid)
            if proc.status() != psutil.STATUS_ZOMBIE and "localstack.runtime.main" in " ".join(proc.cmdline()):
                return pid
        except (FileNotFoundError, ValueError, psutil.Error):
            pass
        return None

    def is_up(self) -> bool:
        return self.pid() is not None and is_healthy(self.endpoint)

    def crashed(self) -> bool:
        """True when a start was recorded but its process is gone without a stop."""
        return self._pid_file.exists() and self.pid() is None

    # -- start ----------------------------------------------------------------------------------
    def start(self, timeout: float = 90.0) -> float:
        """Starts the engine and waits until it is healthy. Returns the seconds it took."""
        self.state.mkdir(parents=True, exist_ok=True)
        self._kill_stale_functions()
        self._clear_stale_files()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCALSTACK_"))}
        env.update(settings.host_engine_settings(self.port, self.state))
        started = time.monotonic()
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "localstack.runtime.main"],
                env=env,
                cwd=str(self.state),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._pid_file.write_text(str(proc.pid))
        settings.remember_port(self.port, self.state)
        try:
            wait_healthy(self.endpoint, timeout, alive=lambda: proc.poll() is None)
        except EngineNotHealthy:
            self.stop()
            raise
        return time.monotonic() - started

    def _clear_stale_files(self) -> None:
        """State is in memory, so files a previous run left (unzipped code, temp and state
        files) are stale. The cache stays: LocalStack keeps its service catalog there, and
        rebuilding it costs ~4 s on the first request after every start."""
        root = self.state / "filesystem"
        for stale in (root / "tmp", root / "var/lib/localstack/tmp", root / "var/lib/localstack/logs"):
            shutil.rmtree(stale, ignore_errors=True)

    # -- stop -----------------------------------------------------------------------------------
    def stop(self, graceful: bool = True) -> list[str]:
        """Stops the engine and every function process within ~10 s. Returns what it did.
        `graceful=False` skips SIGTERM (for a reset, where the state is thrown away anyway)."""
        done: list[str] = []
        pid = self.pid()
        if pid is not None:
            done.append(self._stop_engine(pid, STOP_GRACE_SECONDS if graceful else 0.0))
        killed = self._kill_stale_functions()
        if killed:
            done.append(f"removed {killed} function process(es)")
        from edalab.plugins.lambda_.cpu_share import remove_leftovers  # the engine may have had no time to
        remove_leftovers(self.port)  # remove its CPU-share cgroups (it ignores SIGTERM once a Lambda ran)
        self._pid_file.unlink(missing_ok=True)
        settings.forget_port(self.state)
        return done

    def _stop_engine(self, pid: int, grace: float) -> str:
        try:
            group = os.getpgid(pid)
        except ProcessLookupError:
            return "engine was already gone"
        if grace > 0:
            os.killpg(group, signal.SIGTERM)
            if _wait_gone(pid, grace):
                return "engine stopped"
        os.killpg(group, signal.SIGKILL)
        _wait_gone(pid, STOP_TOTAL_SECONDS - grace)
        return "engine killed" if grace == 0 else "engine did not stop on SIGTERM; killed"

    def _kill_stale_functions(self) -> int:
        """Kills function processes recorded by the executor whose engine is gone."""
        killed = 0
        if not self._functions_dir.is_dir():
            return 0
        for entry in self._functions_dir.iterdir():
            try:
                proc = psutil.Process(int(entry.name))
                if "edalab.plugins.lambda_.function_bootstrap" in " ".join(proc.cmdline()):
                    os.killpg(proc.pid, signal.SIGKILL)
                    killed += 1
            except (ValueError, psutil.Error, ProcessLookupError, PermissionError):
                pass
            entry.unlink(missing_ok=True)
        return killed

    def function_processes(self) -> list[int]:
        """Pids of live function processes this engine started (from the executor's records)."""
        if not self._functions_dir.is_dir():
            return []
        pids = [int(entry.name) for entry in self._functions_dir.iterdir() if entry.name.isdigit()]
        return [pid for pid in pids if is_running(pid)]


def _wait_gone(pid: int, seconds: float) -> bool:
    try:
        psutil.Process(pid).wait(timeout=seconds)
        return True
    except psutil.TimeoutExpired:
        return False
    except psutil.NoSuchProcess:
        return True

"""The console as a background process: started by `make up`, stopped by `make down`.

Why this exists: a learner should get the console with the engine, without a second terminal.
`make up` starts `python -m edalab.console` in its own session (so Ctrl-C in the shell that ran
`make up` does not reach it), with its pid and log beside the engine's in the state folder
(`console.pid`, `console.log`); `make down` stops it (SIGTERM, then SIGKILL). The console runs
on the host in both engine modes: it only needs the engine's endpoint.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

from edalab import settings
from edalab.plugins.lambda_.function_process import is_running

HOST = "127.0.0.1"
MODULE = "edalab.console"
START_TIMEOUT_SECONDS = 15.0
STOP_GRACE_SECONDS = 3.0


class PortTaken(RuntimeError):
    """Something that is not our console already listens on the console's port."""


@dataclass
class ConsoleProcess:
    state: Path
    port: int

    @classmethod
    def default(cls) -> ConsoleProcess:
        return cls(settings.state_dir(), settings.console_port())

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.state / "console.pid"

    @property
    def log_file(self) -> Path:
        return self.state / "console.log"

    def pid(self) -> int | None:
        """The console's pid if that process is alive and is our console."""
        try:
            pid = int(self.pid_file.read_text())
            proc = psutil.Process(pid)
            if proc.status() != psutil.STATUS_ZOMBIE and MODULE in proc.cmdline():
                return pid
        except (FileNotFoundError, ValueError, psutil.Error):
            pass
        return None

    def is_running(self) -> bool:
        return self.pid() is not None

    def running_url(self) -> str:
        """The running console's address (the port it was started with, which a later shell
        may not have in EDALAB_CONSOLE_PORT)."""
        pid, port = self.pid(), self.port
        try:
            if pid is not None:
                port = psutil.Process(pid).environ().get("EDALAB_CONSOLE_PORT") or port
        except psutil.Error:
            pass
        return f"http://{HOST}:{port}"

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/static/console.css", timeout=1):
                return True
        except OSError:
            return False

    def start(self, endpoint: str, mode: str | None = None) -> float:
        """Starts the console in the background against `endpoint` (run in `mode`, which it shows;
        it guesses when not given) and waits until it answers.
        Returns the seconds it took. Raises PortTaken when another program holds the port, and
        RuntimeError (with the log's tail) when the console exits or does not answer."""
        if settings._listening(self.port):
            raise PortTaken(f"port {self.port} is already taken by another program: the console was not started "
                            f"(set EDALAB_CONSOLE_PORT to a free port, e.g. EDALAB_CONSOLE_PORT=8081, and `make up` again)")
        self.state.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "EDALAB_ENDPOINT": endpoint, "EDALAB_STATE_DIR": str(self.state),
               "EDALAB_CONSOLE_PORT": str(self.port), **({"EDALAB_ENGINE": mode} if mode else {})}
        started = time.monotonic()
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", MODULE], env=env, cwd=str(settings.REPO_ROOT),
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.pid_file.write_text(str(proc.pid))
        deadline = started + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise RuntimeError(f"the console exited ({proc.returncode}): {self._log_tail()}")
            if self.answers():
                return time.monotonic() - started
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the console did not answer on {self.url} within {START_TIMEOUT_SECONDS:.0f} s: "
                           f"{self._log_tail()}")

    def stop(self) -> str | None:
        """Stops the console (SIGTERM, then SIGKILL). Returns what it did, None if it was not running."""
        pid = self.pid()
        self.pid_file.unlink(missing_ok=True)
        if pid is None:
            return None
        try:
            os.killpg(pid, signal.SIGTERM)  # its own session: the pid is its group's id
        except ProcessLookupError:
            return "console was already gone"
        if _wait_gone(pid, STOP_GRACE_SECONDS):
            return "console stopped"
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _wait_gone(pid, 5)
        return "console did not stop on SIGTERM; killed"

    def _log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_file.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"



def _wait_gone(pid: int, seconds: float) -> bool:
    """True once `pid` has ended (an unreaped zombie counts as ended: its parent may be a test)."""
    deadline = time.monotonic() + seconds
    while is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True

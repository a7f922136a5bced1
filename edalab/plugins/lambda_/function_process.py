"""One function's runtime, run as a local process, with its output captured.

Why this exists: without Docker, a Lambda execution environment is a child process of
the engine. This module owns that process: it starts it in its own session (so the whole
group can be killed on a timeout or on shutdown), collects everything it prints through a
non-blocking pipe (a blocked pipe would stall a chatty handler after 64 KB), and makes sure
it cannot outlive the engine: the child watches its stdin, which the engine holds open.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import threading
from pathlib import Path

import psutil

def is_running(pid: int) -> bool:
    """True while `pid` runs. An exited process not yet reaped (a zombie) does not count, nor
    does a killed one whose main thread is a zombie while its other threads still exit (its
    parent cannot reap it yet, so `Popen.poll()` alone would still call it alive)."""
    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.Error:
        return False


# What the runtime prints is kept for get_logs() (LocalStack asks for it when a start fails).
_KEEP_BYTES = 64 * 1024


class OutputCapture:
    """Reads a pipe in the background; `take()` returns what arrived since the last call."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        os.set_blocking(fd, False)
        self._lock = threading.Lock()
        self._pending = bytearray()
        self._history = bytearray()
        self._open = True
        self._thread = threading.Thread(target=self._pump, name="lambda-output", daemon=True)
        self._thread.start()

    def _read_available(self) -> None:
        """Moves every byte the pipe holds now into the buffers (caller holds the lock)."""
        while self._open:
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self._open = False
                return
            self._pending += chunk
            self._history += chunk
            del self._history[:-_KEEP_BYTES]

    def _pump(self) -> None:
        while self._open:
            try:
                select.select([self._fd], [], [], 1.0)
            except (OSError, ValueError):
                return
            with self._lock:
                self._read_available()
        os.close(self._fd)

    def take(self) -> str:
        """Everything written since the last call. Bytes already written are never missed:
        the pipe is read here, under the lock, not only by the background thread."""
        with self._lock:
            self._read_available()
            data = bytes(self._pending)
            self._pending.clear()
        return data.decode("utf-8", errors="replace")

    def history(self) -> str:
        with self._lock:
            return bytes(self._history).decode("utf-8", errors="replace")


class FunctionProcess:
    """A started runtime process and its captured output."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, pid_dir: Path | None, cpu_group=None):
        read_fd, write_fd = os.pipe()
        try:
            self._popen = subprocess.Popen(
                argv,
                env=env,
                cwd=str(cwd),
                stdin=subprocess.PIPE,  # held open by us; the child exits when it closes
                stdout=write_fd,
                stderr=write_fd,
                start_new_session=True,
                close_fds=True,
            )
        finally:
            os.close(write_fd)
        self.cpu_group = cpu_group  # cpu_share.FunctionGroup: its CPU share, or None (unlimited)
        if cpu_group is not None:
            cpu_group.admit(self._popen.pid)
        self.output = OutputCapture(read_fd)
        self._pid_file = None
        if pid_dir is not None:
            pid_dir.mkdir(parents=True, exist_ok=True)
            self._pid_file = pid_dir / str(self._popen.pid)
            self._pid_file.write_text(" ".join(argv))

    @property
    def pid(self) -> int:
        return self._popen.pid

    def exit_code(self) -> int | None:
        return self._popen.poll()

    def is_dying_or_dead(self) -> bool:
        """True once the process has exited or been killed, even before it can be reaped."""
        return self.exit_code() is not None or not is_running(self.pid)

    def max_memory_mb(self) -> int:
        try:
            return round(psutil.Process(self.pid).memory_info().rss / (1024 * 1024))
        except psutil.Error:
            return 0

    def kill(self) -> None:
        """Kills the whole process group at once and reaps it."""
        try:
            os.killpg(self._popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self._popen.stdin:
            try:
                self._popen.stdin.close()
            except OSError:
                pass
        try:
            self._popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self.cpu_group is not None:
            self.cpu_group.release()
            self.cpu_group = None
        if self._pid_file is not None:
            self._pid_file.unlink(missing_ok=True)

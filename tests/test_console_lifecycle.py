"""The console's life beside the engine, as a learner meets it: `make up` starts it and prints
its address, a second `make up` leaves it, `make status` shows it, a port taken by another
program is reported while the engine stays up, `make down` stops it; `make console` serves it
in the foreground. And its safety: it refuses a non-local engine (exit 3, the words every
command uses) and a bad EDALAB_CONSOLE_PORT (exit 2), and answers 403 to a foreign Host or a
POST from a foreign Origin.

The make targets run against a host engine of their own (port and state folder), as in
test_lifecycle.py, so nothing a learner started is touched.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from test_lifecycle import engine_of, lab_env, make  # noqa: F401  (lab_env is a fixture)

from edalab import settings
from edalab.console.process import ConsoleProcess
from edalab.waiting import wait_for
from support import free_port


@pytest.fixture(scope="module")
def console_env(lab_env):  # noqa: F811  (a private engine port, state folder and console port)
    return lab_env


def console_of(env: dict) -> ConsoleProcess:
    return ConsoleProcess(Path(env["EDALAB_STATE_DIR"]), int(env["EDALAB_CONSOLE_PORT"]))


def request(url: str, method: str = "GET", headers: dict | None = None) -> tuple[int, str]:
    call = urllib.request.Request(url, method=method, headers=headers or {}, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(call, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_make_up_starts_the_console_and_ends_with_its_address(console_env):
    result = make(console_env, "up")
    assert result.returncode == 0, result.stdout + result.stderr
    url = f"http://127.0.0.1:{console_env['EDALAB_CONSOLE_PORT']}"
    assert f"Console: {url}" in "\n".join(result.stdout.splitlines()[-2:]), result.stdout
    status, page = request(url + "/")
    assert status == 200 and "Overview" in page and engine_of(console_env).endpoint in page
    console = console_of(console_env)
    assert console.is_running() and console.pid_file.exists() and console.log_file.exists()
    status = make(console_env, "status")
    assert f"Console: running at {url}" in status.stdout, status.stdout


def test_a_second_make_up_leaves_the_running_console(console_env):
    console = console_of(console_env)
    pid = console.pid()
    result = make(console_env, "up")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "already running" in result.stdout.splitlines()[-1]
    assert console.pid() == pid


def test_a_foreign_host_or_a_post_from_a_foreign_origin_gets_403(console_env):
    url = console_of(console_env).url
    status, text = request(url + "/", headers={"Host": "evil.example:80"})
    assert status == 403 and "only to 127.0.0.1 or localhost" in text
    status, text = request(url + "/", "POST", headers={"Origin": "http://evil.example"})
    assert status == 403 and "only come from the console's own pages" in text
    status, _ = request(url + "/", "POST", headers={"Origin": url})  # its own origin passes the guard
    assert status != 403
    assert request(url + "/")[0] == 200


def test_make_console_serves_in_the_foreground_until_stopped(console_env):
    port = free_port()  # a second console, beside the one `make up` started
    env = {**console_env, "EDALAB_CONSOLE_PORT": str(port)}
    process = subprocess.Popen(["make", "--no-print-directory", "console"], cwd=settings.REPO_ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        first = process.stdout.readline()
        assert first.startswith(f"Console: http://127.0.0.1:{port}"), first

        def answer() -> int | None:
            assert process.poll() is None, f"make console exited ({process.returncode})"
            try:
                return request(f"http://127.0.0.1:{port}/")[0]
            except OSError:  # printed its address; still binding the port
                return None
        wait_for(answer, what="the foreground console", until=lambda code: code == 200, timeout=15)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def test_make_console_beside_the_running_console_says_the_port_is_taken(console_env):
    env = {**console_env, "EDALAB_ENDPOINT": engine_of(console_env).endpoint}
    result = subprocess.run([sys.executable, "-m", "edalab.console"], env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 1
    assert f"Port {console_env['EDALAB_CONSOLE_PORT']} is already taken" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_taken_by_another_program_is_reported_and_the_engine_stays_up(console_env):
    console = console_of(console_env)
    assert console.stop() == "console stopped"
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the port may be in TIME_WAIT
        squatter.bind(("127.0.0.1", console.port))
        squatter.listen()
        result = make(console_env, "up")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"port {console.port} is already taken" in result.stdout and "Console not started" in result.stdout
    assert engine_of(console_env).is_up() and not console.is_running()
    console.start(engine_of(console_env).endpoint)  # as `make up` does, for the tests that follow


def test_make_down_stops_the_console(console_env):
    console = console_of(console_env)
    assert console.is_running()
    result = make(console_env, "down")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "console stopped" in result.stdout
    assert console.pid() is None and not console.pid_file.exists() and not console.answers()
    status = make(console_env, "status")
    assert "Console: not running" in status.stdout


def console_main(**env_changes) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_changes}
    return subprocess.run([sys.executable, "-m", "edalab.console"], env=env, capture_output=True, text=True,
                          timeout=30)


def test_a_non_local_engine_endpoint_is_refused_with_exit_3_and_the_words_of_every_command():
    result = console_main(EDALAB_ENDPOINT="http://engine.example.com:4566", EDALAB_CONSOLE_PORT=str(free_port()))
    assert result.returncode == 3
    assert "Refusing to talk to 'http://engine.example.com:4566'" in result.stderr
    other = subprocess.run([sys.executable, "-m", "edalab", "status"], capture_output=True, text=True, timeout=30,
                           env={**os.environ, "EDALAB_ENDPOINT": "http://engine.example.com:4566"})
    assert other.returncode == 3
    words = re.sub(r"\s+", " ", result.stderr).strip()
    assert words == re.sub(r"\s+", " ", other.stdout).strip()


@pytest.mark.parametrize("value", ["abc", "0", "70000"])
def test_a_bad_console_port_is_refused_with_exit_2_and_what_to_set(value):
    result = console_main(EDALAB_CONSOLE_PORT=value, EDALAB_ENDPOINT="http://localhost:4566")
    assert result.returncode == 2
    assert f"EDALAB_CONSOLE_PORT={value!r} is not a port number" in result.stderr
    assert "EDALAB_CONSOLE_PORT=8081" in result.stderr

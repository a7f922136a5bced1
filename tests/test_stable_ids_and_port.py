"""What a learner keeps across engine restarts: the API ids (so a saved `$base` URL still
answers after `make reset`) and the engine's port (so `make status`, `make down` and the rest
find an engine started with `EDALAB_PORT=4680 make up` without the variable).

One host engine of this file's own (its own state folder and free port), never a learner's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from edalab import aws, labs, settings
from edalab.bootstrap import stack_outputs
from edalab.checks import http
from edalab.engine.host import HostEngine
from edalab.plugins.lambda_.function_process import is_running
from support import free_port

FIXED_API_IDS = {"edalab-00-welcome": "edalab-welcome", "edalab-01-s3-crud-api": "edalab-items"}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """Started as `EDALAB_PORT=<port> make up` starts it, with labs 00 and 01 deployed."""
    host = HostEngine(tmp_path_factory.mktemp("stable-state"), free_port())
    host.start()
    _deploy_apis(host)
    yield host
    host.stop()


def _deploy_apis(host: HostEngine) -> None:
    for number in ("00", "01"):  # the solution's handlers: the API must answer, whatever the learner wrote
        labs.deploy(labs.find(number), host.endpoint, solution=True, say=lambda text: None)


def _api_ids(host: HostEngine) -> dict[str, str]:
    return {stack: stack_outputs(stack, host.endpoint)["ApiId"] for stack in FIXED_API_IDS}


def _edalab(command: str, state, **extra: str) -> subprocess.CompletedProcess:
    """`python -m edalab <command>` as a fresh shell runs it: no EDALAB_PORT, no endpoint."""
    env = {k: v for k, v in os.environ.items() if k not in ("EDALAB_PORT", "EDALAB_ENDPOINT")}
    env.update(EDALAB_ENGINE="host", EDALAB_STATE_DIR=str(state), **extra)
    return subprocess.run([sys.executable, "-m", "edalab", command], cwd=settings.REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_api_ids_are_fixed_and_survive_a_restart(engine):
    before = _api_ids(engine)
    assert before == FIXED_API_IDS
    listed = aws.client("apigateway", engine.endpoint).get_rest_apis()["items"]
    assert {api["id"] for api in listed} >= set(FIXED_API_IDS.values())

    engine.stop(graceful=False)  # what `make reset` does: restart (state is in memory), redeploy
    engine.start()
    _deploy_apis(engine)

    assert _api_ids(engine) == before
    welcome = f"{engine.endpoint}/_aws/execute-api/{before['edalab-00-welcome']}/dev"
    reply = http("POST", f"{welcome}/events", {"id": "after-reset"})
    assert (reply.status, reply.body) == (201, {"stored": "after-reset"}), reply.text
    items = f"{engine.endpoint}/_aws/execute-api/{before['edalab-01-s3-crud-api']}/dev"
    reply = http("GET", f"{items}/items")
    assert reply.status == 200 and "items" in reply.body, reply.text


def test_a_recorded_port_counts_only_while_something_listens_on_it(tmp_path, monkeypatch):
    monkeypatch.delenv("EDALAB_PORT", raising=False)
    monkeypatch.setenv("EDALAB_STATE_DIR", str(tmp_path))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        settings.remember_port(port)
        assert settings.port() == port
        monkeypatch.setenv("EDALAB_PORT", str(free_port()))
        assert settings.port() != port, "an explicit EDALAB_PORT wins over the remembered one"
        monkeypatch.delenv("EDALAB_PORT")
    # the engine that recorded it is gone (killed, no `make down`): back to the default
    assert settings.port() == settings.DEFAULT_PORT


def test_a_port_that_is_not_a_number_is_refused_with_what_to_set(tmp_path):
    done = _edalab("status", tmp_path, EDALAB_PORT="45x6")
    assert done.returncode == 2 and "EDALAB_PORT='45x6' is not a port number" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_status_and_down_find_the_engine_without_edalab_port(engine):
    other = _edalab("status", engine.state, EDALAB_PORT=str(free_port()))  # not a second engine on it
    assert other.returncode == 1 and f"already runs on port {engine.port}" in other.stdout, other.stdout
    status = _edalab("status", engine.state)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "healthy, LocalStack" in status.stdout and engine.endpoint in status.stdout, status.stdout

    pid = engine.pid()
    down = _edalab("down", engine.state)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "engine" in down.stdout and "nothing was running" not in down.stdout, down.stdout
    assert not is_running(pid)
    assert settings.running_port(engine.state) is None
    assert not (engine.state / settings.PORT_RECORD).exists()

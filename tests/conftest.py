"""Fixtures shared by the whole suite: one engine per session (per worker under `make test`,
which runs three), clients bound to it.

The engine comes from one of three sources, chosen with EDALAB_TEST_ENGINE:
  host       (default) starts its own LocalStack process on a free port, with its own state
             folder, so it never disturbs an engine a learner started with `make up`;
  container  LocalStack's pinned image through testcontainers (needs a Docker engine; skipped
             with the reason when none answers);
  external   an engine that is already running at EDALAB_ENDPOINT (e.g. from `make up`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edalab import aws, settings
from edalab.engine.container import docker_engine_answers
from edalab.engine.health import is_healthy
from edalab.engine.host import HostEngine
from support import free_port

pytest_plugins = ["browser"]  # the console's browser fixtures (tests/browser.py)

TESTS_DIR = Path(__file__).parent


@dataclass
class Engine:
    source: str
    endpoint: str
    host: HostEngine | None = None  # set for the host source, which tests may inspect

    def client(self, service: str):
        return aws.client(service, self.endpoint)


def _container_engine() -> Iterator[Engine]:
    if not docker_engine_answers():
        pytest.skip("container engine: no Docker engine answers on this machine (only a client is installed)")
    from testcontainers.localstack import LocalStackContainer

    container = LocalStackContainer(image=os.environ.get("LOCALSTACK_IMAGE", settings.CONTAINER_IMAGE))
    container.with_volume_mapping("/var/run/docker.sock", "/var/run/docker.sock", "rw")
    # as docker-compose.yml does: our engine plugins, registered before LocalStack starts
    container.with_volume_mapping(str(settings.REPO_ROOT), "/opt/edalab", "ro")
    container.with_volume_mapping(str(settings.REPO_ROOT / "scripts" / "container-boot.sh"),
                                  "/etc/localstack/init/boot.d/edalab-plugins.sh", "ro")
    for name, value in settings.engine_settings(4566).items():
        if name != "GATEWAY_LISTEN":
            container.with_env(name, value)
    with container:
        yield Engine("container", container.get_url())


@pytest.fixture(scope="session")
def engine(tmp_path_factory) -> Iterator[Engine]:
    source = os.environ.get("EDALAB_TEST_ENGINE", "host")
    if source == "container":
        yield from _container_engine()
    elif source == "external":
        endpoint = settings.endpoint()
        if not is_healthy(endpoint):
            pytest.fail(f"EDALAB_TEST_ENGINE=external but nothing healthy answers at {endpoint}; run `make up`")
        yield Engine("external", endpoint)
    elif source == "host":
        host = HostEngine(tmp_path_factory.mktemp("engine"), free_port())
        host.start()
        # the engine's mail relay files email under its own state folder; checks read it there
        previous = os.environ.get("EDALAB_MAIL_DIR")
        os.environ["EDALAB_MAIL_DIR"] = str(host.state / "mail")
        try:
            yield Engine("host", host.endpoint, host)
        finally:
            host.stop()
            if previous is None:
                os.environ.pop("EDALAB_MAIL_DIR", None)
            else:
                os.environ["EDALAB_MAIL_DIR"] = previous
    else:
        pytest.fail(f"EDALAB_TEST_ENGINE={source!r}: use host, container or external")


@pytest.fixture(scope="session")
def lab_engine(engine, tmp_path_factory) -> Engine:
    """The session engine with every lab's stack deployed (lab 02 with short retries), then saved
    as the baseline snapshot and restored, as `make reset` does: every lab's both-ways check
    (tests/test_labs.py) then proves the restored state works."""
    from edalab import labs
    from support import FAST_PARAMETERS

    # what labs write to the state folder (lab 08's runs and report) goes to the session's, never a learner's
    os.environ.setdefault("EDALAB_STATE_DIR", str(tmp_path_factory.mktemp("state")))

    found = labs.all_labs()
    labs.deploy_all(engine.endpoint, parameters=FAST_PARAMETERS, found=found)
    if engine.source == "host":  # every test after this runs on a restored baseline (make reset's path)
        from edalab import baseline

        try:
            baseline.save(engine.endpoint, found, FAST_PARAMETERS)
            baseline.restore(engine.endpoint, found, FAST_PARAMETERS)
        except baseline.BaselineUnavailable as unavailable:
            pytest.fail(f"the deployed labs could not be saved and restored as the baseline: {unavailable}")
    return engine


@pytest.fixture
def unique() -> str:
    """A short suffix that keeps each test's resource names apart."""
    return uuid.uuid4().hex[:8]


# Test files whose tests each take minutes and share nothing but the session engine: under
# `make test` each of their tests may go to its own worker instead of all to one.
SPREAD_FILES = ("tests/test_labs.py",)
# The `slow` load runs, each loading its engine flat out for minutes: under `make test` one worker
# runs them one after the other. Side by side on 2 cores (beside two more workers) they starved
# each other's functions past their timeouts, which the tests then saw as retries.
LOAD_RUN_FILES = ("tests/test_reliability_lab02_load.py", "tests/test_lab11_load.py")


def pytest_collection_modifyitems(items):
    """The `slow` load runs go first: with `make test`'s workers, one of them starts the
    longest run at once while the others work through the rest beside it."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_xdist_make_scheduler(config, log):
    """`make test` (`--dist loadfile`) sends a file's tests to one worker, so its module fixtures
    (an engine of its own, a `make up`) are built once and its tests run in order; but each test
    of SPREAD_FILES (every lab's both-ways check, a minute or more each) is a unit of its own,
    and the LOAD_RUN_FILES are one unit.
    (xdist's `loadgroup` would say this with marks, but it cannot rename test ids under pytest 9.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FilesButSpread(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            if path.endswith(LOAD_RUN_FILES):
                return "the load runs"
            return nodeid if path.endswith(SPREAD_FILES) else path

    return FilesButSpread(config, log)

"""Container mode: the compose file agrees with host mode, and (where a Docker engine runs)
the pinned image starts and runs a Lambda function in a container.

This project's own machines have a Docker client but no Docker engine, so the second test
skips there and says why; it never passes without running.
"""

from __future__ import annotations

import json

import pytest
import yaml

from edalab import aws, settings
from edalab.engine.container import docker_engine_answers
from support import zip_source
from edalab.waiting import wait_for


def _service() -> dict:
    compose = yaml.safe_load((settings.REPO_ROOT / "docker-compose.yml").read_text())
    return compose["services"]["localstack"]


def test_compose_pins_the_image_and_shares_host_mode_settings():
    service = _service()
    assert service["image"] == "${LOCALSTACK_IMAGE:-" + settings.CONTAINER_IMAGE + "}"
    assert "/var/run/docker.sock:/var/run/docker.sock" in service["volumes"]
    assert "healthcheck" in service
    env = service["environment"]
    for name, value in settings.engine_settings(4566).items():
        if name in ("GATEWAY_LISTEN", "LOCALSTACK_HOST"):
            continue  # differ by design: inside the container it listens on all interfaces
        assert str(env.get(name)) == value, f"docker-compose.yml sets {name}={env.get(name)!r}, host mode {value!r}"


def test_the_ready_hook_runs_the_same_bootstrap():
    hook = (settings.REPO_ROOT / "scripts" / "container-ready.sh").read_text()
    assert "python -m edalab bootstrap" in hook
    mounts = _service()["volumes"]
    assert any(m.endswith("/etc/localstack/init/ready.d/edalab-bootstrap.sh:ro") for m in mounts)


def test_the_boot_hook_registers_the_engine_plugins_with_another_python(tmp_path):
    """The container's LocalStack must load the same plugins as the host engine. The boot hook
    runs `edalab.plugin_install` on the image's Python; here it writes into an empty folder,
    and a fresh interpreter that has only that folder on its path finds every entry point
    pyproject.toml declares, and imports one of our providers through it."""
    import subprocess
    import sys
    import tomllib

    hook = (settings.REPO_ROOT / "scripts" / "container-boot.sh").read_text()
    assert "python -m edalab.plugin_install" in hook
    assert any(m.endswith("/etc/localstack/init/boot.d/edalab-plugins.sh:ro") for m in _service()["volumes"])

    site = tmp_path / "site-packages"
    site.mkdir()
    subprocess.run([sys.executable, "-m", "edalab.plugin_install", "--site", str(site)], check=True,
                   cwd=tmp_path, capture_output=True)
    probe = (
        "import importlib.metadata as md, json, site, sys\n"
        f"site.addsitedir({str(site)!r})\n"
        f"dist = next(md.distributions(path=[{str(site)!r}]))\n"
        "print(json.dumps(sorted([e.group, e.name, e.value] for e in dist.entry_points)))\n"
        "import edalab.plugins; print(edalab.plugins.__file__)\n"
    )
    # -S: no site-packages of ours, so only the written .pth can make edalab importable
    out = subprocess.run([sys.executable, "-S", "-c", probe], check=True, capture_output=True,
                         text=True, cwd=tmp_path).stdout.splitlines()
    declared = tomllib.loads((settings.REPO_ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    expected = sorted([group, name, target] for group, points in declared.items() for name, target in points.items())
    found = [e for e in json.loads(out[0]) if e[0] != "console_scripts"]
    assert found == expected
    assert out[1].startswith(str(settings.REPO_ROOT / "edalab"))


@pytest.mark.container
def test_pinned_image_runs_a_lambda_in_a_container():
    if not docker_engine_answers():
        pytest.skip("no Docker engine answers on this machine (only a Docker client is installed)")
    from testcontainers.localstack import LocalStackContainer

    container = LocalStackContainer(image=settings.CONTAINER_IMAGE)
    container.with_volume_mapping("/var/run/docker.sock", "/var/run/docker.sock", "rw")
    with container:
        lam = aws.client("lambda", container.get_url())
        lam.create_function(
            FunctionName="hello", Runtime="python3.13", Handler="app.handler",
            Role="arn:aws:iam::000000000000:role/x",
            Code={"ZipFile": zip_source("def handler(event, context):\n    return {'got': event}\n")},
        )
        wait_for(lambda: lam.get_function(FunctionName="hello")["Configuration"]["State"],
                 what="Active", timeout=120, until=lambda s: s == "Active")
        result = json.loads(lam.invoke(FunctionName="hello", Payload=b'{"a": 1}')["Payload"].read())
        assert result == {"got": {"a": 1}}

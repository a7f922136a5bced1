"""A function's memory buys it CPU, as on Lambda (edalab/plugins/lambda_/cpu_share.py): a tagged
function's process runs in a cgroup whose quota is period x memory/1769 (one vCPU at 1,769 MB,
at least one vCPU while it imports its handler), an untagged one is not limited, the groups go
when the processes end and the engine's parent group goes with the engine; the engine answers
its policy at /_edalab/lambda/cpu, and says "unavailable", and why, when it cannot write cgroups.

Each test starts an engine of its own (no labs deployed): one stops it to prove nothing is left,
the other points it at a read-only cgroup root.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from edalab import aws
from edalab.engine.host import HostEngine
from edalab.plugins.lambda_.cpu_share import ROUTE, TAG, TAG_VALUE, CpuShares, wants_share
from edalab.plugins.lambda_.function_process import is_running
from edalab.waiting import wait_for
from support import ROLE, free_port, zip_source

pytestmark = pytest.mark.skipif(not Path("/proc/self/cgroup").exists(), reason="cgroups are Linux only")

CPU_ROOT = Path("/sys/fs/cgroup")

# The handler reads its own CPU quota while it is imported (the init phase) and again when invoked.
QUOTA_HANDLER = '''
import os
from pathlib import Path

def _quota():
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, group = line.split(":", 2)
        if controllers == "" or "cpu" in controllers.split(","):
            for candidate in (f"/sys/fs/cgroup/cpu{group}/cpu.cfs_quota_us", f"/sys/fs/cgroup{group}/cpu.max",
                              f"/sys/fs/cgroup/unified{group}/cpu.max"):
                if group != "/" and os.path.exists(candidate):
                    return Path(candidate).read_text().split()[0]
    return None

AT_INIT = _quota()

def handler(event, context):
    return {"pid": os.getpid(), "quota_at_init": AT_INIT, "quota": _quota()}
'''


def _get(endpoint: str, method: str = "GET") -> tuple[int, dict | str]:
    """The route's status and JSON body (the raw text when it is not JSON)."""
    request = urllib.request.Request(endpoint + ROUTE, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, body = answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


def _create(lam, name: str, memory_mb: int, tagged: bool) -> None:
    lam.create_function(
        FunctionName=name, Runtime="python3.13", Handler="app.handler", Role=ROLE, MemorySize=memory_mb,
        Code={"ZipFile": zip_source(QUOTA_HANDLER)}, Timeout=10,
        Tags={TAG: TAG_VALUE} if tagged else {"team": "orders"},
    )
    wait_for(lambda: lam.get_function(FunctionName=name)["Configuration"]["State"],
             what=f"function {name} to become Active", until=lambda state: state == "Active")


def _invoke(lam, name: str) -> dict:
    answer = lam.invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in answer, answer["Payload"].read()
    return json.loads(answer["Payload"].read())


def _cpu_group(pid: int) -> str:
    """The process's group in the hierarchy holding the cpu controller (v1 line, else v2's)."""
    lines = [line.split(":", 2) for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines()]
    v1 = [group for _, controllers, group in lines if "cpu" in controllers.split(",")]
    return v1[0] if v1 else next(group for _, controllers, group in lines if controllers == "")


def _group_dir(mode: str, group: str) -> Path:
    if mode == "cgroup-v1":
        return CPU_ROOT / "cpu" / group.lstrip("/")
    base = CPU_ROOT if (CPU_ROOT / "cgroup.controllers").exists() else CPU_ROOT / "unified"
    return base / group.lstrip("/")


def _quota_and_period(mode: str, group: str) -> tuple[int, int]:
    """The group's CPU limit in microseconds per period, as the kernel holds it."""
    folder = _group_dir(mode, group)
    if mode == "cgroup-v1":
        return int((folder / "cpu.cfs_quota_us").read_text()), int((folder / "cpu.cfs_period_us").read_text())
    quota, period = (folder / "cpu.max").read_text().split()
    return int(quota), int(period)


@pytest.fixture
def own_engine(tmp_path):
    host = HostEngine(tmp_path / "state", free_port())
    yield host
    host.stop()


def test_memory_buys_a_proportional_cpu_share_and_no_group_is_left(own_engine):
    own_engine.start()
    status, policy = _get(own_engine.endpoint)
    assert status == 200 and isinstance(policy, dict), f"{ROUTE} answered {status}: {policy}"
    assert set(policy) == {"mode", "detail", "opt_in", "vcpu_per_mb"}
    assert policy["vcpu_per_mb"] == pytest.approx(1 / 1769)
    assert TAG in policy["opt_in"]
    assert _get(own_engine.endpoint, "POST")[0] == 405
    if policy["mode"] == "unavailable":
        pytest.skip(f"this machine cannot limit CPU: {policy['detail']}")
    mode = policy["mode"]
    parent = f"edalab-{own_engine.port}"
    assert parent in policy["detail"]

    lam = aws.client("lambda", own_engine.endpoint)
    expected = {"cpu-half": (885, True), "cpu-one": (1769, True), "cpu-plain": (885, False)}
    for name, (memory, tagged) in expected.items():
        _create(lam, name, memory, tagged)
    seen = {name: _invoke(lam, name) for name in expected}

    engine_pids = set(own_engine.function_processes())  # the executor's own records
    for name, (memory, tagged) in expected.items():
        pid = seen[name]["pid"]
        assert pid in engine_pids, f"{name}'s pid {pid} is not one of the engine's function processes"
        group = _cpu_group(pid)
        if not tagged:
            assert parent not in group, f"untagged {name} was limited: {group}"
            assert seen[name]["quota"] in (None, "-1", "max")
            continue
        assert group == f"/{parent}/{name}-{pid}"
        quota, period = _quota_and_period(mode, group)
        assert quota == round(period * memory / 1769)  # 1,769 MB: quota == period, one vCPU
        assert seen[name]["quota"] == str(quota)  # what the handler itself sees while invoked
        assert int(seen[name]["quota_at_init"]) >= period  # init: at least one vCPU, as on AWS

    half_group = _group_dir(mode, f"/{parent}/cpu-half-{seen['cpu-half']['pid']}")
    lam.delete_function(FunctionName="cpu-half")
    wait_for(lambda: not is_running(seen["cpu-half"]["pid"]) and not half_group.exists(),
             what="the deleted function's process and its cgroup to go", timeout=20)

    parent_dir = half_group.parent
    assert parent_dir.exists()  # cpu-one's process still runs in it
    own_engine.stop()
    wait_for(lambda: not parent_dir.exists(), what=f"{parent_dir} to be removed with the engine", timeout=15)


def test_a_read_only_cgroup_root_is_reported_unavailable_and_functions_still_run(own_engine, tmp_path, monkeypatch):
    """As in a container: the cgroup file system is there but read-only (root: a read-only bind
    mount of the real cpu hierarchy; anyone else: a folder they cannot write)."""
    root = tmp_path / "cgroup"
    controller = root / "cpu"
    controller.mkdir(parents=True)
    real_v1 = CPU_ROOT / "cpu" / "cpu.cfs_quota_us"
    mounted = os.geteuid() == 0 and real_v1.exists() and subprocess.run(
        ["mount", "--bind", "-o", "ro", str(real_v1.parent), str(controller)], capture_output=True).returncode == 0
    if not mounted:
        (controller / "cpu.cfs_quota_us").write_text("-1")
        controller.chmod(0o555)
    try:
        monkeypatch.setenv("EDALAB_LAMBDA_CPU_ROOT", str(root))
        own_engine.start()
        status, policy = _get(own_engine.endpoint)
        assert status == 200
        assert policy["mode"] == "unavailable"
        assert str(controller) in policy["detail"]
        if mounted:
            assert "read-only" in policy["detail"]
        lam = aws.client("lambda", own_engine.endpoint)
        _create(lam, "cpu-unlimited", 128, tagged=True)
        assert _invoke(lam, "cpu-unlimited")["quota"] in (None, "-1", "max")  # runs, not limited
        own_engine.stop()
    finally:
        if mounted:
            subprocess.run(["umount", str(controller)], check=True)
        else:
            controller.chmod(0o755)


def test_which_functions_are_limited_follows_the_setting_and_a_bad_setting_says_what_to_set():
    tagged, untagged, loose = {TAG: TAG_VALUE}, {"team": "orders"}, {TAG: " Proportional "}
    assert [wants_share("tagged", tags) for tags in (tagged, untagged, loose)] == [True, False, True]
    assert [wants_share("all", tags) for tags in (tagged, untagged)] == [True, True]
    assert [wants_share("off", tags) for tags in (tagged, untagged)] == [False, False]
    off = CpuShares("edalab-test", "off", CPU_ROOT).policy
    assert (off.mode, off.detail) == ("unavailable", "turned off (EDALAB_LAMBDA_CPU=off)")
    bad = CpuShares("edalab-test", "sometimes", CPU_ROOT).policy
    assert bad.mode == "unavailable" and "'sometimes' is not one of tagged, all, off" in bad.detail

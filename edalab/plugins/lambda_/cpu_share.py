"""A function process gets a CPU share proportional to its configured memory, as on Lambda.

Why this exists: on AWS a function's memory setting also buys CPU (1,769 MB = one vCPU, in
proportion, at most 6 vCPUs), so a CPU-bound handler at 128 MB runs about 14 times slower than
at 1,769 MB. Function processes on the host engine all run at the machine's full speed, which
makes lab 08's memory experiments lie. Here the operating system's own means limit them: a
cgroup per function process, under one parent group per engine (`edalab-<gateway port>`), with
a CFS quota of `period × memory / 1769` (cgroup v2 `cpu.max` where v2 holds the cpu controller,
v1 `cpu.cfs_quota_us` otherwise). When neither can be written (not root, a read-only cgroup
file system in a container, no cpu controller) the mode is "unavailable" and says why, and
lab 08 marks its memory rows "modelled".

As on AWS, the init phase (importing the handler) runs with at least one full vCPU; the
proportional quota applies from the first invoke on.

Opt-in (`EDALAB_LAMBDA_CPU`): `tagged` (default) limits only functions tagged
`edalab:cpu-share=proportional` (a tag changes nothing on AWS), `all` every function, `off` none.
Limiting every function by default would make every lab's 128 MB function 14 times slower at
CPU work, which only lab 08 wants to show. `EDALAB_LAMBDA_CPU_ROOT` moves the cgroup root
(default `/sys/fs/cgroup`).

The engine asks through `shares()`; `GET /_edalab/lambda/cpu` answers `policy()` as JSON.
Only the engine imports this module (function processes never do).
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from localstack.runtime import hooks

from edalab.plugins import uses_stock

LOG = logging.getLogger(__name__)

MB_PER_VCPU = 1769
MAX_VCPU = 6.0  # AWS's largest function (10,240 MB) gets ~5.8; never more than 6
# The CFS period. The kernel's default (100 ms) hands a 128 MB function 7 ms at the start of each
# period, so a handler with less work than that would never be slowed; at 20 ms it gets 1.4 ms at a
# time (the kernel's smallest quota is 1 ms, so the period cannot be much shorter).
PERIOD_US = 20_000
MIN_QUOTA_US = 1_000  # the smallest quota the kernel accepts
INIT_MIN_VCPU = 1.0  # AWS: on-demand init runs on a full vCPU, unthrottled

TAG = "edalab:cpu-share"
TAG_VALUE = "proportional"
MODE_SETTING = "EDALAB_LAMBDA_CPU"
ROOT_SETTING = "EDALAB_LAMBDA_CPU_ROOT"
MODES = ("tagged", "all", "off")
DEFAULT_ROOT = "/sys/fs/cgroup"
UNAVAILABLE = "unavailable"
ROUTE = "/_edalab/lambda/cpu"


def vcpu_for(memory_mb: int) -> float:
    """The vCPUs Lambda gives a function with `memory_mb` of memory."""
    return min(memory_mb / MB_PER_VCPU, MAX_VCPU)


def quota_us(vcpu: float, period_us: int = PERIOD_US) -> int:
    """CPU time per period for `vcpu` (a quota spans cores: 2 vCPUs = twice the period)."""
    return max(MIN_QUOTA_US, round(period_us * vcpu))


def wants_share(setting: str, tags: dict[str, str]) -> bool:
    """Whether a function with `tags` is limited under `EDALAB_LAMBDA_CPU=setting`."""
    if setting == "all":
        return True
    if setting == "tagged":
        return tags.get(TAG, "").strip().lower() == TAG_VALUE
    return False


def _opt_in_text(setting: str) -> str:
    if setting == "all":
        return f"every function ({MODE_SETTING}=all)"
    if setting == "off":
        return f"no function ({MODE_SETTING}=off; set tagged or all to enable)"
    return (f"tag the function {TAG}={TAG_VALUE} ({MODE_SETTING}=tagged, the default; "
            f"=all limits every function, =off none)")


@dataclass(frozen=True)
class Policy:
    mode: str  # "cgroup-v1" | "cgroup-v2" | "unavailable"
    detail: str
    opt_in: str

    def as_json(self) -> dict:
        return {"mode": self.mode, "detail": self.detail, "opt_in": self.opt_in, "vcpu_per_mb": 1 / MB_PER_VCPU}


class NotACgroup(OSError):
    """A folder laid out like a cgroup hierarchy whose new groups get no control files."""


# -- the two hierarchies ------------------------------------------------------------------------
class _CgroupV1:
    mode = "cgroup-v1"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def describe(self) -> str:
        return f"cgroup v1 cpu controller at {self.directory} (cpu.cfs_quota_us)"

    def prepare_parent(self, parent: Path) -> None:
        parent.mkdir(exist_ok=True)
        if not (parent / "cpu.cfs_quota_us").exists():
            raise NotACgroup(errno.ENOTSUP, f"the kernel made no cpu.cfs_quota_us in {parent}")

    def limit(self, group: Path, quota: int | None) -> None:
        (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (group / "cpu.cfs_quota_us").write_text(str(quota if quota is not None else -1))

    def quota_file(self, group: Path) -> Path:
        return group / "cpu.cfs_quota_us"


class _CgroupV2:
    mode = "cgroup-v2"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def describe(self) -> str:
        return f"cgroup v2 at {self.directory} (cpu.max)"

    def prepare_parent(self, parent: Path) -> None:
        _enable_cpu(self.directory)
        parent.mkdir(exist_ok=True)
        if not (parent / "cgroup.procs").exists():
            raise NotACgroup(errno.ENOTSUP, f"the kernel made no cgroup.procs in {parent}")
        _enable_cpu(parent)  # so each function's group below it has cpu.max

    def limit(self, group: Path, quota: int | None) -> None:
        (group / "cpu.max").write_text(f"{quota if quota is not None else 'max'} {PERIOD_US}")

    def quota_file(self, group: Path) -> Path:
        return group / "cpu.max"


def _enable_cpu(directory: Path) -> None:
    control = directory / "cgroup.subtree_control"
    if "cpu" not in control.read_text().split():
        control.write_text("+cpu")


def _controllers(directory: Path) -> list[str] | None:
    try:
        return (directory / "cgroup.controllers").read_text().split()
    except OSError:
        return None


def find_hierarchy(root: Path) -> tuple[_CgroupV1 | _CgroupV2 | None, str]:
    """The hierarchy that holds the cpu controller under `root`, or None and why not."""
    mounted_v2 = _controllers(root)
    if mounted_v2 is not None:  # the unified hierarchy is mounted at the root itself
        if "cpu" in mounted_v2:
            return _CgroupV2(root), ""
        return None, f"{root} is a cgroup v2 hierarchy without the cpu controller (it offers: {' '.join(mounted_v2) or 'none'})"
    v1 = root / "cpu"
    if (v1 / "cpu.cfs_quota_us").exists():
        return _CgroupV1(v1), ""
    hybrid = _controllers(root / "unified")
    if hybrid is not None and "cpu" in hybrid:
        return _CgroupV2(root / "unified"), ""
    reason = (f"no cgroup cpu controller under {root}: neither {root}/cgroup.controllers listing cpu (v2) "
              f"nor {v1}/cpu.cfs_quota_us (v1)")
    if hybrid is not None:
        reason += f"; {root}/unified is cgroup v2 without the cpu controller (it is bound to v1 or not mounted)"
    return None, reason


def _why_not_writable(path: Path, error: OSError) -> str:
    if isinstance(error, NotACgroup):
        return f"{path.parent} is not a cgroup file system ({error.strerror})"
    where = " (this engine runs in a container)" if _in_container() else ""
    if error.errno == errno.EROFS:
        return f"cannot create {path}: the cgroup file system is mounted read-only{where}"
    if error.errno in (errno.EACCES, errno.EPERM):
        return (f"cannot create {path}: permission denied for uid {os.geteuid()}{where}; "
                "limiting CPU needs root or a cgroup delegated to this user")
    return f"cannot create {path}: {error.strerror or error}{where}"


def _in_container() -> bool:
    return Path("/.dockerenv").exists() or Path("/run/.containerenv").exists()


# -- one function process's group ------------------------------------------------------------
class FunctionGroup:
    """The cgroup of one function process: created when it starts, removed when it ends."""

    def __init__(self, hierarchy: _CgroupV1 | _CgroupV2, parent: Path, function_name: str, vcpu: float) -> None:
        self.hierarchy = hierarchy
        self.parent = parent
        self.function_name = function_name
        self.vcpu = vcpu
        self.path: Path | None = None  # <parent>/<function name>-<pid>, once admitted
        self._created = False

    def admit(self, pid: int) -> None:
        """Creates the group with the init phase's quota and moves `pid` into it. If that
        fails the process runs unlimited; the engine log says why."""
        self.path = self.parent / f"{self.function_name}-{pid}"
        try:
            self.hierarchy.prepare_parent(self.parent)  # made on first use, so idle engines leave none
            self.path.mkdir()
            self._created = True
            self.hierarchy.limit(self.path, quota_us(max(self.vcpu, INIT_MIN_VCPU)))
            (self.path / "cgroup.procs").write_text(str(pid))
        except OSError as error:
            LOG.warning("CPU share for pid %s not applied (%s): %s", pid, self.path, error)
            self.release()

    def end_init(self) -> None:
        """The init phase is over: from now on the process gets its proportional share."""
        if not self._created:
            return
        try:
            self.hierarchy.limit(self.path, quota_us(self.vcpu))
        except OSError as error:
            LOG.warning("CPU share of %s not set: %s", self.path, error)

    def release(self, timeout: float = 3.0) -> None:
        """Removes the group once its processes are gone (call after the process was reaped)."""
        if self._created:
            _remove_group(self.path, timeout)
            self._created = False


def _remove_group(path: Path, timeout: float) -> bool:
    """rmdir a cgroup; a process that was just killed may take a moment to leave it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            path.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError as error:
            if error.errno != errno.EBUSY or time.monotonic() >= deadline:
                LOG.warning("could not remove cgroup %s: %s", path, error)
                return False
            time.sleep(0.05)


def _kill_members(group: Path) -> None:
    """Kills what is still in one of our function groups (the engine is going away)."""
    try:
        pids = [int(line) for line in (group / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return
    for pid in pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def remove_engine_groups(parent: Path, timeout: float = 5.0) -> bool:
    """Removes an engine's parent group and every function group in it, killing processes
    left in them (they are that engine's function processes). True when nothing is left."""
    if not parent.is_dir():
        return True
    children = [entry for entry in parent.iterdir() if entry.is_dir()]
    for child in children:
        _kill_members(child)
    removed = all(_remove_group(child, timeout) for child in children)
    return removed and _remove_group(parent, timeout)


# -- the engine's shares ---------------------------------------------------------------------
class CpuShares:
    """Decides, for this engine, whether and how function processes are limited."""

    def __init__(self, engine_name: str, setting: str, root: Path) -> None:
        self.setting = setting
        self.root = root
        self.hierarchy = None
        self.parent: Path | None = None
        opt_in = _opt_in_text(setting)
        if setting not in MODES:
            self.policy = Policy(UNAVAILABLE, f"{MODE_SETTING}={setting!r} is not one of {', '.join(MODES)}; "
                                              "no function is limited", opt_in)
            return
        if setting == "off":
            self.policy = Policy(UNAVAILABLE, f"turned off ({MODE_SETTING}=off)", opt_in)
            return
        hierarchy, reason = find_hierarchy(root)
        if hierarchy is None:
            self.policy = Policy(UNAVAILABLE, reason, opt_in)
            return
        parent = hierarchy.directory / engine_name
        try:
            remove_engine_groups(parent)  # left by an engine on this port that was killed
            hierarchy.prepare_parent(parent)  # proves it can be written; made again on first use
        except OSError as error:
            self.policy = Policy(UNAVAILABLE, _why_not_writable(parent, error), opt_in)
            return
        finally:
            if parent.is_dir():
                _remove_group(parent, 0)
        self.hierarchy, self.parent = hierarchy, parent
        self.policy = Policy(
            hierarchy.mode,
            f"{hierarchy.describe()}: each limited function process gets its own group under {parent} "
            f"with a quota of memory/{MB_PER_VCPU} MB x the {PERIOD_US} us period "
            f"(1,769 MB = one vCPU, at most {MAX_VCPU:g} vCPUs); its init phase runs with at least one vCPU, as on AWS",
            opt_in,
        )

    def group_for(self, function_name: str, memory_mb: int, tags: dict[str, str]) -> FunctionGroup | None:
        """A group for a new process of this function, or None when it runs unlimited."""
        if self.hierarchy is None or not wants_share(self.setting, tags):
            return None
        return FunctionGroup(self.hierarchy, self.parent, function_name, vcpu_for(memory_mb))

    def close(self) -> None:
        """Engine shutdown: every group and the parent go (processes still in them are killed)."""
        if self.parent is not None:
            remove_engine_groups(self.parent)


def engine_group_name(gateway_port: int) -> str:
    return f"edalab-{gateway_port}"


def configured_root() -> Path:
    return Path(os.environ.get(ROOT_SETTING) or DEFAULT_ROOT)


def configured_setting() -> str:
    return (os.environ.get(MODE_SETTING) or "tagged").strip().lower()


_shares: CpuShares | None = None
_shares_lock = threading.Lock()


def shares() -> CpuShares:
    """This engine's shares, decided once (at start-up, by the hook below)."""
    global _shares
    with _shares_lock:
        if _shares is None:
            from localstack import config

            port = config.GATEWAY_LISTEN[0].port
            _shares = CpuShares(engine_group_name(port), configured_setting(), configured_root())
            LOG.info("Lambda CPU share: %s (%s)", _shares.policy.mode, _shares.policy.detail)
        return _shares


def policy() -> Policy:
    return shares().policy


def group_for_version(function_version) -> FunctionGroup | None:
    """The group for a new process of a LocalStack function version (reads its memory and tags)."""
    from localstack.services.lambda_.invocation.models import lambda_stores

    if uses_stock("lambda"):
        return None
    ident = function_version.id
    try:
        tags = lambda_stores[ident.account][ident.region].tags.get_tags(ident.unqualified_arn())
    except Exception:  # noqa: BLE001 - a function without tags, or one being deleted
        tags = {}
    return shares().group_for(ident.function_name, int(function_version.config.memory_size), dict(tags))


# -- engine hooks and the route --------------------------------------------------------------
def _route(request, **_kwargs):
    from rolo import Response

    if request.method != "GET":
        return Response(f'{{"error": "{request.method} is not allowed here: use GET"}}', status=405,
                        mimetype="application/json", headers={"Allow": "GET"})
    return policy().as_json()


@hooks.on_infra_start()
def start_cpu_share() -> None:
    """on_infra_start: decide the policy (creating this engine's parent group) and serve it."""
    from localstack.services.edge import ROUTER

    if uses_stock("lambda"):  # EDALAB_STOCK_SERVICES=lambda: LocalStack's behaviour, no share
        return
    shares()
    ROUTER.add(ROUTE, endpoint=_route)


@hooks.on_infra_shutdown()
def stop_cpu_share() -> None:
    """on_infra_shutdown: no group of this engine is left behind."""
    if _shares is not None:
        _shares.close()


def remove_leftovers(gateway_port: int) -> bool:
    """For whoever stops an engine that may have been killed before its shutdown hook ran:
    removes that engine's groups. True when nothing is left."""
    hierarchy, _ = find_hierarchy(configured_root())
    if hierarchy is None:
        return True
    try:
        return remove_engine_groups(hierarchy.directory / engine_group_name(gateway_port))
    except OSError:
        return False

"""Which installed distributions a handler needs on AWS, found offline.

Why this exists: locally every function process runs with this project's packages at hand;
on AWS a function has its zip and the runtime, and the Python runtime carries only boto3 and
what boto3 needs. So a handler's zip must bring every other distribution it imports, and
everything those require, copied from the packages installed here (nothing is downloaded).
`third_party_imports` reads the handler's own imports (every `import`, also inside functions);
`closure` follows the distributions' requirements for the function's Python; `files` lists
what to copy, as `pip install --target` would lay it out.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# What AWS's Python runtimes carry besides the standard library: boto3 and its requirements.
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")


class MissingDependency(RuntimeError):
    """A handler imports a module no installed distribution provides; the message names both."""


@dataclass(frozen=True)
class Vendored:
    name: str  # canonical distribution name
    version: str
    pure: bool  # pure Python (runs on any architecture and Python 3 version)
    tags: tuple[str, ...]  # its wheel tags, e.g. ("cp313-cp313-manylinux_2_17_x86_64",)


def third_party_imports(folder: Path) -> dict[str, str]:
    """Top-level module name -> the file that imports it, for every import in the handler's
    Python files that is neither the standard library nor a module of the handler itself."""
    local = {p.stem for p in folder.glob("*.py")} | {p.name for p in folder.iterdir() if (p / "__init__.py").is_file()}
    found: dict[str, str] = {}
    for source in sorted(folder.rglob("*.py")):
        if "__pycache__" in source.parts:
            continue
        try:
            tree = ast.parse(source.read_text(), filename=str(source))
        except SyntaxError as error:
            raise MissingDependency(f"{source} does not parse ({error.msg}, line {error.lineno}): fix it first") from None
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".", 1)[0]
                if top not in sys.stdlib_module_names and top not in local and top != "__future__":
                    found.setdefault(top, source.name)
    return found


@lru_cache(maxsize=1)
def _module_owners() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def distribution_of(module: str) -> str | None:
    """The installed distribution that provides the top-level module, if any."""
    owners = _module_owners().get(module)
    return canonicalize_name(owners[0]) if owners else None


def runtime_modules() -> set[str]:
    """Top-level modules the runtime carries (boto3 and its requirements)."""
    wanted = {canonicalize_name(name) for name in RUNTIME_DISTRIBUTIONS}
    return {module for module, owners in _module_owners().items()
            if any(canonicalize_name(owner) in wanted for owner in owners)}


def target_environment(runtime: str, architecture: str) -> dict[str, str]:
    """Marker values for the function's runtime (`python3.13`, `arm64`) on AWS's Linux."""
    environment = dict(default_environment())
    version = runtime.removeprefix("python")
    if version.count(".") == 1:
        environment.update(python_version=version, python_full_version=f"{version}.0")
    environment.update(sys_platform="linux", platform_system="Linux", os_name="posix",
                       platform_machine="aarch64" if architecture == "arm64" else "x86_64", extra="")
    return environment


def closure(roots: list[str], environment: dict[str, str]) -> list[Vendored]:
    """The distributions to vendor: the roots and every requirement they have on the target
    (extras not asked for are left out), except what the runtime carries."""
    runtime = {canonicalize_name(name) for name in RUNTIME_DISTRIBUTIONS}
    wanted, seen, found = [canonicalize_name(r) for r in roots], set(), []
    while wanted:
        name = wanted.pop(0)
        if name in seen or name in runtime:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise MissingDependency(
                f"{name} is needed but not installed in .venv: install it there "
                f"(`.venv/bin/pip install {name}`) and run this again; nothing is downloaded here") from None
        for line in dist.requires or []:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            if requirement.marker is None or requirement.marker.evaluate(environment):
                wanted.append(canonicalize_name(requirement.name))
        found.append(_vendored(dist))
    return found


def _vendored(dist: metadata.Distribution) -> Vendored:
    wheel = dist.read_text("WHEEL") or ""
    tags = tuple(line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:"))
    pure = "Root-Is-Purelib: true" in wheel and not any(str(f).endswith((".so", ".pyd")) for f in dist.files or [])
    return Vendored(canonicalize_name(dist.metadata["Name"]), dist.version, pure, tags)


def files(name: str) -> dict[str, Path]:
    """Where each of the distribution's files goes in the zip -> the installed file: its
    packages and its .dist-info, as `pip install --target` lays them out (no bytecode, no
    scripts installed outside the package folder)."""
    dist = metadata.distribution(name)
    found = {}
    for entry in dist.files or []:
        parts = Path(str(entry)).parts
        if not parts or parts[0] == ".." or "__pycache__" in parts or str(entry).endswith(".pyc"):
            continue
        path = Path(dist.locate_file(entry))
        if path.is_file():
            found[Path(*parts).as_posix()] = path
    return found


def runtime_paths() -> dict[str, Path]:
    """Top-level module name -> where it is installed, for what the runtime carries: a fresh
    interpreter given only these and a zip sees what a function on AWS sees."""
    found = {}
    for name in RUNTIME_DISTRIBUTIONS:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for entry in dist.files or []:
            parts = Path(str(entry)).parts
            if parts and parts[0] != ".." and not parts[0].endswith((".dist-info", ".egg-info")) and parts[0] != "__pycache__":
                found.setdefault(parts[0], Path(dist.locate_file(parts[0])))
    return found


def check_target(vendored: list[Vendored], runtime: str, architecture: str) -> list[str]:
    """Why a compiled distribution would not load on the function's runtime and architecture."""
    machine = "aarch64" if architecture == "arm64" else "x86_64"
    python = "cp" + runtime.removeprefix("python").replace(".", "")
    problems = []
    for dist in vendored:
        if dist.pure:
            continue
        if not any(machine in tag and "linux" in tag for tag in dist.tags) or not any(
                tag.startswith(python + "-") or "-abi3-" in tag for tag in dist.tags):
            problems.append(f"{dist.name} {dist.version} is compiled for {', '.join(dist.tags) or 'this machine'}, "
                            f"not for {runtime} on {architecture} Linux: the installed copy cannot run there")
    return problems

"""Makes another Python environment's LocalStack load EDA Lab's engine plugins.

Why this exists: LocalStack finds plugins through entry points, which Python reads from the
`*.dist-info` folders of installed distributions. The host engine runs from `.venv`, where
`make setup` installs this project. In container mode LocalStack runs from the image's own
environment, where nothing of ours is installed; the repository is mounted read-only (pip
cannot build it in place) and nothing may be downloaded. What an installed distribution is,
for `importlib.metadata`, is two small things, so this writes them:
- `edalab.pth`, one line putting the repository on `sys.path`;
- `edalab-<version>.dist-info/` with `METADATA` and an `entry_points.txt` generated from
  `pyproject.toml`, so both modes register exactly the same plugins.

The container's boot hook (`scripts/container-boot.sh`) runs it before LocalStack starts:
`python -m edalab.plugin_install` writes into the running interpreter's site-packages.
"""

from __future__ import annotations

import argparse
import shutil
import sysconfig
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def entry_points_text(pyproject: dict) -> str:
    """`entry_points.txt` as pip would write it for the project's entry points."""
    project = pyproject["project"]
    groups = dict(project.get("entry-points", {}))
    if scripts := project.get("scripts"):
        groups = {"console_scripts": scripts, **groups}
    sections = []
    for group, points in groups.items():
        lines = [f"[{group}]", *(f"{name} = {target}" for name, target in points.items())]
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"


def install(site_packages: Path, repo_root: Path = REPO_ROOT) -> Path:
    """Writes the `.pth` line and the dist-info folder into `site_packages`; returns the folder."""
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text())
    name, version = pyproject["project"]["name"], pyproject["project"]["version"]
    for stale in site_packages.glob(f"{name}-*.dist-info"):
        shutil.rmtree(stale)
    dist_info = site_packages / f"{name}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (dist_info / "entry_points.txt").write_text(entry_points_text(pyproject))
    (dist_info / "INSTALLER").write_text("edalab.plugin_install\n")
    (site_packages / f"{name}.pth").write_text(f"{repo_root}\n")
    return dist_info


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=Path(sysconfig.get_paths()["purelib"]),
                        help="site-packages folder to write into (default: this interpreter's)")
    args = parser.parse_args(argv)
    dist_info = install(args.site)
    print(f"edalab: engine plugins registered for this Python ({dist_info})")


if __name__ == "__main__":
    main()

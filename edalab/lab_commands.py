"""Commands that belong to one lab: `make traffic LAB=07`, `make experiment LAB=08 NAME=…`,
`make report LAB=08`, `make drill LAB=09 NAME=…`.

Why this exists: some labs ship a tool of their own (a traffic generator, an experiment runner,
a drill). The tool's code lives in the lab's folder, beside the README that teaches it, as
`labs/NN-name/<command>.py` with a function `run(endpoint, args, say) -> int` (the exit code);
`args` is the `argparse.Namespace` of the command's options. This module finds that file and
runs it, and says which labs have the command when the chosen one does not.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from edalab import labs


class NoSuchLabCommand(labs.UnknownLab):
    """The lab has no such tool (exit code 2, as any wrong LAB=)."""


def labs_with(command: str) -> list[labs.Lab]:
    return [lab for lab in labs.all_labs() if (lab.folder / f"{command}.py").is_file()]


def find(lab_id: str | None, command: str) -> labs.Lab:
    """The lab whose `<command>.py` runs; the message names the labs that have one."""
    having = labs_with(command)
    choices = ", ".join(f"LAB={lab.number} ({lab.title})" for lab in having) or "none yet"
    if not lab_id:
        raise NoSuchLabCommand(f"Say which lab: `make {command}` belongs to {choices}")
    lab = labs.find(lab_id)
    if lab not in having:
        raise NoSuchLabCommand(f"lab {lab.number} ({lab.title}) has no `make {command}`; it belongs to {choices}")
    return lab


def run(lab_id: str | None, command: str, endpoint: str, args: argparse.Namespace,
        say: Callable[[str], None] = print) -> int:
    lab = find(lab_id, command)
    return int(lab.load_module(f"{command}.py").run(endpoint, args, say) or 0)

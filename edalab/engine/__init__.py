"""Engine control: which engine this machine uses, and one object to start, stop and ask it.

Why this exists: the labs and tests are the same in both modes; only how LocalStack is run
differs. `current()` picks the mode (EDALAB_ENGINE, else container when a Docker engine
answers, else host) so no caller has to.
"""

from __future__ import annotations

import os

from edalab.engine.container import ContainerEngine, docker_engine_answers
from edalab.engine.host import HostEngine

MODES = ("host", "container")


class UnknownEngineMode(ValueError):
    pass


def chosen_mode() -> str:
    mode = (os.environ.get("EDALAB_ENGINE") or "").strip().lower()
    if mode and mode not in MODES:
        raise UnknownEngineMode(f"EDALAB_ENGINE={mode!r} is not a mode; use 'host' or 'container'.")
    if mode:
        return mode
    return "container" if docker_engine_answers() else "host"


def current(mode: str | None = None) -> HostEngine | ContainerEngine:
    mode = mode or chosen_mode()
    return ContainerEngine.default() if mode == "container" else HostEngine.default()

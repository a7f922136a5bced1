"""Waiting for background work to end, but never for longer than a reset can afford.

Why this exists: a reset (and a restore) holds `background.LOCK` while it stops the old state's
threads; `executor.shutdown(wait=True)` waits for every task under way, however long it takes. One
task that hangs (a function process that does not die, a delivery stuck on a socket) would hold
the lock for good and block every later reset and restore. `within(seconds, call)` runs the
waiting call in a thread of its own and gives up on it after `seconds`, logging what it left.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

LOG = logging.getLogger(__name__)


def within(seconds: float, call: Callable[[], object], what: str) -> bool:
    """Runs `call` (a wait, e.g. an executor's shutdown) for at most `seconds`; True if it ended.
    A call still waiting then goes on in its daemon thread and is logged."""
    thread = threading.Thread(target=call, name=f"edalab-reset-wait-{what}", daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    if thread.is_alive():
        LOG.warning("edalab: %s had not ended after %.0f s; the reset goes on without it", what, seconds)
        return False
    return True

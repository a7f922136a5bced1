"""The reset itself: stop the background work, empty every store, start the background work again.

Why this exists: restarting the engine and redeploying every lab took 11 s with seven labs; the
engine's state is all in memory, so emptying it in place takes well under that. The order
matters: whatever works in the background for the old state stops first (else a poller or an
alarm task would act on a store being emptied, or on the next state), then the stores are emptied,
then the engine-wide loops (alarm schedule, rule jobs) run again, now with nothing to do.
One reset at a time (`background.LOCK`), and never during a snapshot's restore.
"""

from __future__ import annotations

import logging
import time

from edalab.plugins.reset import background, own_state, stores

LOG = logging.getLogger(__name__)


def reset_engine() -> dict:
    """Resets the engine; returns what was done and how many seconds each part took."""
    with background.LOCK:
        started = time.perf_counter()
        stopped = background.stop_all()
        emptied = stores.reset_all()
        plugins: dict[str, float] = {}
        for name, reset_part in own_state.PARTS.items():
            part_started = time.perf_counter()
            try:
                reset_part()
            except Exception as error:  # noqa: BLE001 - the others are still cleared
                LOG.warning("edalab: resetting %s failed: %s", name, error, exc_info=True)
                plugins[name + ".error"] = str(error)
            plugins[name] = round(time.perf_counter() - part_started, 4)
        restarted = background.start_all()
        seconds = round(time.perf_counter() - started, 3)
    errors = {f"{group}.{key}": value for group, parts in
              (("stop", stopped), ("stores", emptied), ("plugins", plugins), ("start", restarted))
              for key, value in parts.items() if key.endswith(".error")}
    LOG.info("edalab: engine reset in %.2f s (%d services emptied)", seconds, len(emptied))
    return {
        "status": "reset" if not errors else "reset with errors",
        "seconds": seconds,
        "services": sorted(name for name in emptied if not name.endswith(".error")),
        "took": {"stop": stopped, "stores": emptied, "plugins": plugins, "start": restarted},
        "errors": errors,
    }

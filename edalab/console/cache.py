"""A short-lived cache of engine answers, shared by every open tab.

Why this exists: every page polls every second or two. Ten open tabs must not make ten times
the engine calls, and a slow call must not be made twice at once. Each key is computed by one
caller at a time; the others wait for it and share the answer until it is `ttl` seconds old.
Errors are not cached.

A dozen lines over a lock per key: the libraries that cache (cachetools' TTLCache, functools)
do not make concurrent callers of the same key wait for one computation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class TtlCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._locks: dict[Any, threading.Lock] = {}
        self._guard = threading.Lock()
        self.computed = 0  # how many times an answer was really computed (the tests read it)

    def _lock_for(self, key: Any) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key: Any, ttl: float, compute: Callable[[], Any]) -> Any:
        entry = self._entries.get(key)
        if entry and self._clock() - entry[0] < ttl:
            return entry[1]
        with self._lock_for(key):
            entry = self._entries.get(key)  # another caller may have computed it meanwhile
            if entry and self._clock() - entry[0] < ttl:
                return entry[1]
            value = compute()
            self.computed += 1
            self._entries[key] = (self._clock(), value)
            return value

    def forget(self, prefix: Any = None) -> None:
        """Drops every entry (or those whose key starts with `prefix`), e.g. after an action."""
        with self._guard:
            for key in list(self._entries):
                if prefix is None or (isinstance(key, tuple) and key[:len(prefix)] == prefix):
                    self._entries.pop(key, None)

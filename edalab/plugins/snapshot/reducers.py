"""Pickling rules for state objects dill cannot rebuild on its own.

Why this exists: dill saves a lock with its owner and count and loads it held (Lambda's code
objects carry a disk lock; a restored function then waited forever to unzip its code), so every
lock is saved as a new, free one: no one holds a lock across a snapshot. And dill rebuilds a dict subclass by calling its class with no arguments; moto's
SSM `ParameterDict` (a defaultdict whose constructor wants an account and a region) then fails
to load ("missing 1 required positional argument"). Each rule here rebuilds such an object from
its attributes and items without calling its constructor. Registered once, when the snapshot
plugin saves or loads.
"""

from __future__ import annotations

import threading
from collections import defaultdict

from localstack.state import pickle as state_pickle

_registered = False


def _rebuild_defaultdict(cls, factory, attributes: dict, items: dict):
    rebuilt = cls.__new__(cls)
    defaultdict.__init__(rebuilt, factory)
    rebuilt.__dict__.update(attributes)
    rebuilt.update(items)
    return rebuilt


def _reduce_defaultdict_subclass(pickler, obj):
    pickler.save_reduce(_rebuild_defaultdict,
                        (type(obj), obj.default_factory, dict(obj.__dict__), dict(obj)), obj=obj)


def _reduce_lock(pickler, obj):
    pickler.save_reduce(threading.RLock if isinstance(obj, _RLOCK) else threading.Lock, (), obj=obj)


_RLOCK = type(threading.RLock())


def register_reducers() -> None:
    global _registered
    if _registered:
        return
    from moto.ssm.models import ParameterDict

    state_pickle.register(ParameterDict)(_reduce_defaultdict_subclass)
    state_pickle.register(_RLOCK)(_reduce_lock)
    state_pickle.register(type(threading.Lock()))(_reduce_lock)
    _registered = True

"""Requests that arrive during a reset or a restore wait for it, then meet the new state.

Why this exists: a reset (and a snapshot's restore) replaces the engine's state while the engine
keeps serving. A request that arrived in between met a state half taken apart: SendMessage to a
queue already closed answered 500 InternalError, a function without its running version
ResourceConflictException. Clients (a learner's load script, the console, a function still
running) saw errors no AWS account ever gives. This handler, early in LocalStack's request chain,
waits while `background.LOCK` is held (at most WAIT_SECONDS, then the request goes on as before
and the wait is logged) so the request is served by the state after the reset: the queue is gone
(QueueDoesNotExist) or restored, never half there.

Not held back: LocalStack's internal calls (a service calling another, possibly for the reset
itself) and the engine's own routes (`/_edalab/...`, `/_localstack/...`), so nothing can wait for
the work it is part of.
"""

from __future__ import annotations

import logging

LOG = logging.getLogger(__name__)

WAIT_SECONDS = 10.0
_NEVER_HELD = ("/_edalab/", "/_localstack/")


def wait_for_reset(chain, context, response) -> None:
    """A request-chain handler: returns at once unless a reset or restore holds the lock."""
    from edalab.plugins.reset import background  # on the first request, not at the engine's start

    if background.LOCK.acquire(blocking=False):  # the usual case: nothing to wait for
        background.LOCK.release()
        return
    if context.is_internal_call or context.request.path.startswith(_NEVER_HELD):
        return
    if background.LOCK.acquire(timeout=WAIT_SECONDS):
        background.LOCK.release()
    else:
        LOG.warning("edalab: %s %s waited %.0f s for a reset or restore and goes on without it",
                    context.request.method, context.request.path, WAIT_SECONDS)

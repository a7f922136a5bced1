"""The engine's internal AWS clients, remembered so a reset can close their idle connections.

Why this exists: LocalStack's services call each other through boto3 clients it caches (up to
256, `ClientFactory._get_client`); a mapping's poller, a target sender or a delivery gets one
per configuration, and each keeps its keep-alive connections to the gateway. When the gateway
drops an idle one, the client's end stays open (CLOSE_WAIT) until the client is collected: 20
reset cycles left about 70 such descriptors. `close_idle_connections()` closes the pools of every
client made so far (a client in use just opens a new connection on its next call).
"""

from __future__ import annotations

import logging
import weakref

LOG = logging.getLogger(__name__)

_clients: weakref.WeakSet = weakref.WeakSet()
_recording = False


def record_internal_clients() -> None:
    """Wraps LocalStack's cached client factory so every client it hands out is remembered."""
    global _recording
    if _recording:
        return
    from localstack.aws.connect import ClientFactory

    cached = ClientFactory._get_client  # the lru_cache stays in front of client creation

    def remembered(self, *args, **kwargs):
        client = cached(self, *args, **kwargs)
        try:
            _clients.add(client)
        except TypeError:  # not weak-referenceable: nothing to remember
            pass
        return client

    remembered.cache_info = cached.cache_info
    remembered.cache_clear = cached.cache_clear
    ClientFactory._get_client = remembered
    _recording = True


def close_idle_connections() -> int:
    """Closes every remembered client's connection pools; returns how many clients."""
    clients = list(_clients)
    for client in clients:
        try:
            client.close()
        except Exception as error:  # noqa: BLE001 - one client must not keep the others open
            LOG.debug("edalab: closing an internal client failed: %s", error)
    return len(clients)

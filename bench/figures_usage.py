"""Figure for the usage meter (#15): what counting every request costs, on SQS SendMessage.

Why this exists: every request of the engine passes the meter's hook, so its price is paid on
every call. Two fresh engines run side by side, one with the meter and one started with
EDALAB_STOCK_SERVICES=usage (no hook); the runs alternate between them so both see the same
machine load. The figure is sequential SendMessage calls per second from one client. On a busy
2-core machine the two engines differ by ±10 % with or without the meter (an A/A run of two
unmetered engines showed the same spread); the hook itself takes about 1.5 µs a request.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from unittest import mock

from figures import Figure
from support import create_queue, free_port

from edalab import aws
from edalab.engine.host import HostEngine


@contextmanager
def _engine(metered: bool):
    """A fresh engine with no labs; without the usage meter unless `metered`."""
    stock = os.environ.get("EDALAB_STOCK_SERVICES", "")
    unmetered = {} if metered else {"EDALAB_STOCK_SERVICES": ",".join(filter(None, [stock, "usage"]))}
    with mock.patch.dict(os.environ, unmetered):  # the engine reads it at start
        engine = HostEngine(Path(tempfile.mkdtemp(prefix="edalab-bench-usage-")), free_port())
        engine.start()
    try:
        yield engine
    finally:
        engine.stop()


def sends_per_second(sqs, queue_url: str, messages: int) -> float:
    started = time.perf_counter()
    for n in range(messages):
        sqs.send_message(QueueUrl=queue_url, MessageBody=f'{{"n": {n}}}')
    return messages / (time.perf_counter() - started)


def usage_overhead(runs: int = 5, messages: int = 400) -> list[Figure]:
    with ExitStack() as stack:
        senders = {}
        for metered in (True, False):
            engine = stack.enter_context(_engine(metered))
            sqs = aws.client("sqs", engine.endpoint)
            url, _ = create_queue(sqs, "bench-usage")
            sends_per_second(sqs, url, 50)  # connections and the first requests: not counted
            senders[metered] = (sqs, url)
        samples: dict[bool, list[float]] = {True: [], False: []}
        for run in range(runs):
            turns = list(senders.items())
            for metered, (sqs, url) in turns[::-1] if run % 2 else turns:  # who goes first alternates too
                samples[metered].append(sends_per_second(sqs, url, messages))
    return [Figure("SQS SendMessage, one client, with the usage meter", "msg/s", samples[True],
                   baselines={"no meter (EDALAB_STOCK_SERVICES=usage)": samples[False]})]

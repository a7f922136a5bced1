"""Data points for CloudWatch collected in memory and sent once a second, in as few calls as the API allows.

Why this exists: LocalStack sends each metric it publishes itself (SQS per message, Lambda per
invocation) with one internal PutMetricData call, each stored with its own sqlite commit;
profiling lab 02 under load showed that bookkeeping taking about a third of the engine's CPU.
Our plugins that publish AWS's metrics (SQS message metrics, Lambda Duration / Throttles /
ConcurrentExecutions, Embedded Metric Format lines) add their data points here instead: equal
samples of one series are sent as one datum with `Values` and `Counts`, which CloudWatch stores
as exactly as many samples as before, so sums, counts, averages, minimums and maximums read back
the same; a data point is at most a second later than it would have been.

A series is (namespace, metric, dimensions, unit, timestamp, storage resolution); a data point
added without a timestamp takes the time it is sent.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import islice

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
_VALUES_PER_DATUM = 150  # PutMetricData's limits
_DATA_PER_CALL = 1000

Dimensions = tuple[tuple[str, str], ...]
# (metric, dimensions, unit, timestamp or None, storage resolution)
SeriesKey = tuple[str, Dimensions, str, datetime | None, int]
Send = Callable[[str, str, str, list[dict]], None]


def put_metric_data(account_id: str, region: str, namespace: str, metric_data: list[dict]) -> None:
    """Sends `metric_data` to the engine's CloudWatch, in calls of at most 1000 data."""
    from localstack.aws.connect import connect_to

    cloudwatch = connect_to(region_name=region, aws_access_key_id=account_id).cloudwatch
    for start in range(0, len(metric_data), _DATA_PER_CALL):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=metric_data[start:start + _DATA_PER_CALL])


class MetricBatcher:
    """Collects data points with `add`; `flush()` (every second once started) sends them."""

    def __init__(self, send: Send = put_metric_data, flush_seconds: float = FLUSH_SECONDS,
                 thread_name: str = "edalab-metrics") -> None:
        self._send = send
        self._flush_seconds = flush_seconds
        self._thread_name = thread_name
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        # (account, region, namespace) -> series -> value -> how many times
        self._pending: dict[tuple[str, str, str], dict[SeriesKey, Counter]] = defaultdict(
            lambda: defaultdict(Counter)
        )
        # called at the start of every flush, to add what is sampled rather than counted
        self._samplers: list[Callable[[MetricBatcher], None]] = []
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, account_id: str, region: str, namespace: str, metric: str, value: float,
            unit: str = "None", dimensions: Dimensions = (), timestamp: datetime | None = None,
            storage_resolution: int = 60, count: int = 1) -> None:
        series = (metric, tuple(dimensions), unit, timestamp, storage_resolution)
        with self._lock:
            self._pending[(account_id, region, namespace)][series][float(value)] += count

    def add_sampler(self, sampler: Callable[[MetricBatcher], None]) -> None:
        """`sampler(self)` runs before each flush (e.g. to add a gauge's maximum of the last second)."""
        self._samplers.append(sampler)

    def flush(self) -> None:
        with self._flushing:  # one flush at a time; discard_pending waits for a send under way
            self._flush()

    def _flush(self) -> None:
        for sampler in self._samplers:
            try:
                sampler(self)
            except Exception as error:  # a broken sampler must not stop the others' metrics
                LOG.warning("edalab: a metric sampler failed: %s", error)
        with self._lock:
            pending, self._pending = self._pending, defaultdict(lambda: defaultdict(Counter))
        sent_at = datetime.now(UTC)
        for (account_id, region, namespace), series in pending.items():
            metric_data = []
            for (metric, dimensions, unit, timestamp, resolution), counts in series.items():
                values = iter(counts.items())
                while chunk := list(islice(values, _VALUES_PER_DATUM)):
                    datum = {
                        "MetricName": metric,
                        "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions],
                        "Unit": unit,
                        "Timestamp": timestamp or sent_at,
                        "Values": [value for value, _ in chunk],
                        "Counts": [float(count) for _, count in chunk],
                    }
                    if resolution != 60:
                        datum["StorageResolution"] = resolution
                    metric_data.append(datum)
            try:
                self._send(account_id, region, namespace, metric_data)
            except Exception as error:  # a lost metric must never stop the service that published it
                LOG.warning("edalab: could not publish %d %s metric series: %s", len(metric_data), namespace, error)

    def discard_pending(self) -> None:
        """Drops what was collected and not yet sent, samplers' readings included (an engine reset:
        the old state's data points must not reach the new state's CloudWatch). A flush under way
        is waited for: what it sends lands in the old state's store, which the reset empties next."""
        with self._flushing:
            for sampler in self._samplers:
                try:
                    sampler(self)
                except Exception:  # noqa: BLE001 - what it would add is dropped anyway
                    pass
            with self._lock:
                self._pending = defaultdict(lambda: defaultdict(Counter))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._flush_seconds):
            self.flush()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()


_shared: MetricBatcher | None = None
_shared_lock = threading.Lock()


def shared_batcher() -> MetricBatcher:
    """The engine's one batcher for the metrics our plugins publish (started on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = MetricBatcher()
            _shared.start()
        return _shared


@hooks.on_infra_shutdown()
def stop_shared_batcher() -> None:
    """Sends what is pending and stops the shared batcher's thread (the engine's shutdown hook)."""
    global _shared
    with _shared_lock:
        batcher, _shared = _shared, None
    if batcher is not None:
        batcher.stop()

"""SQS's per-message CloudWatch metrics, sent once a second instead of once per message.

Why this exists: LocalStack reports NumberOfMessagesSent, SentMessageSize,
NumberOfMessagesReceived, NumberOfMessagesDeleted and NumberOfEmptyReceives with one
internal PutMetricData call per message (and per empty poll of every event source mapping),
each stored with its own sqlite commit. Profiling the lab 02 pipeline under load showed
that bookkeeping taking about a third of the engine's CPU. This hook, run as the engine
starts, puts a coalescer in its place: the same data points, in the same namespace and
dimensions, go out as one PutMetricData per second with `Values` and `Counts`, which
CloudWatch stores as exactly as many samples as before. Sums, counts, averages, minimums and
maximums read back the same; a data point is at most a second later than it was.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter, defaultdict
from datetime import UTC, datetime
from itertools import islice

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
_VALUES_PER_DATUM = 150  # PutMetricData's limits
_DATA_PER_CALL = 1000


def _put_metric_data(account_id: str, region: str, metric_data: list[dict]) -> None:
    from localstack.aws.connect import connect_to

    cloudwatch = connect_to(region_name=region, aws_access_key_id=account_id).cloudwatch
    for start in range(0, len(metric_data), _DATA_PER_CALL):
        cloudwatch.put_metric_data(Namespace="AWS/SQS", MetricData=metric_data[start:start + _DATA_PER_CALL])


class MetricCoalescer:
    """Collects data points as `publish_sqs_metric` would send them; `flush()` sends them."""

    def __init__(self, send=_put_metric_data, flush_seconds: float = FLUSH_SECONDS) -> None:
        self._send = send
        self._flush_seconds = flush_seconds
        self._lock = threading.Lock()
        # (account, region) -> (queue, metric, unit) -> value -> how many times
        self._pending: dict[tuple[str, str], dict[tuple[str, str, str], Counter]] = defaultdict(
            lambda: defaultdict(Counter)
        )
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def publish(self, account_id: str, region: str, queue_name: str, metric: str,
                value: float = 1, unit: str = "Count") -> None:
        """Same signature as LocalStack's `publish_sqs_metric`."""
        with self._lock:
            self._pending[(account_id, region)][(queue_name, metric, unit)][value] += 1

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, defaultdict(lambda: defaultdict(Counter))
        timestamp = datetime.now(UTC)
        for (account_id, region), series in pending.items():
            metric_data = []
            for (queue_name, metric, unit), counts in series.items():
                values = iter(counts.items())
                while chunk := list(islice(values, _VALUES_PER_DATUM)):
                    metric_data.append({
                        "MetricName": metric,
                        "Dimensions": [{"Name": "QueueName", "Value": queue_name}],
                        "Unit": unit,
                        "Timestamp": timestamp,
                        "Values": [float(value) for value, _ in chunk],
                        "Counts": [float(count) for _, count in chunk],
                    })
            try:
                self._send(account_id, region, metric_data)
            except Exception as error:  # a lost metric must never stop the queue service
                LOG.warning("edalab: could not publish %d SQS metric series: %s", len(metric_data), error)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="edalab-sqs-metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._flush_seconds):
            self.flush()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()


_coalescer: MetricCoalescer | None = None


@hooks.on_infra_start()
def start_sqs_metric_coalescer():
    """Replaces the per-message publisher the SQS provider calls (EDALAB_SQS_METRICS_COALESCE=0 keeps it)."""
    global _coalescer
    if os.environ.get("EDALAB_SQS_METRICS_COALESCE", "1") == "0":
        return
    from localstack.services.sqs import provider

    _coalescer = MetricCoalescer()
    _coalescer.start()
    provider.publish_sqs_metric = _coalescer.publish
    LOG.info("edalab: SQS per-message metrics are sent once every %.0f s", FLUSH_SECONDS)


@hooks.on_infra_shutdown()
def stop_sqs_metric_coalescer():
    if _coalescer is not None:
        _coalescer.stop()

"""SQS's per-message CloudWatch metrics, sent once a second instead of once per message.

Why this exists: LocalStack reports NumberOfMessagesSent, SentMessageSize,
NumberOfMessagesReceived, NumberOfMessagesDeleted and NumberOfEmptyReceives with one
internal PutMetricData call per message (and per empty poll of every event source mapping),
each stored with its own sqlite commit. Profiling the lab 02 pipeline under load showed
that bookkeeping taking about a third of the engine's CPU. This hook, run as the engine
starts, puts a coalescer in its place: the same data points, in the same namespace and
dimensions, go out as one PutMetricData per second with `Values` and `Counts`
(`edalab.plugins.metric_batches`), which CloudWatch stores as exactly as many samples as
before. Sums, counts, averages, minimums and maximums read back the same; a data point is at
most a second later than it was.
"""

from __future__ import annotations

import logging
import os

from localstack.runtime import hooks

from edalab.plugins.metric_batches import FLUSH_SECONDS, MetricBatcher, put_metric_data
from edalab.plugins.on_import import when_imported

LOG = logging.getLogger(__name__)


def _put_metric_data(account_id: str, region: str, metric_data: list[dict]) -> None:
    put_metric_data(account_id, region, "AWS/SQS", metric_data)


class MetricCoalescer(MetricBatcher):
    """Collects data points as `publish_sqs_metric` would send them; `flush()` sends them."""

    def __init__(self, send=_put_metric_data, flush_seconds: float = FLUSH_SECONDS) -> None:
        super().__init__(send=lambda account_id, region, _namespace, data: send(account_id, region, data),
                         flush_seconds=flush_seconds, thread_name="edalab-sqs-metrics")

    def publish(self, account_id: str, region: str, queue_name: str, metric: str,
                value: float = 1, unit: str = "Count") -> None:
        """Same signature as LocalStack's `publish_sqs_metric`."""
        self.add(account_id, region, "AWS/SQS", metric, value, unit, dimensions=(("QueueName", queue_name),))


_coalescer: MetricCoalescer | None = None


@hooks.on_infra_start()
def start_sqs_metric_coalescer():
    """Replaces the per-message publisher the SQS provider calls (EDALAB_SQS_METRICS_COALESCE=0 keeps it)."""
    global _coalescer
    if os.environ.get("EDALAB_SQS_METRICS_COALESCE", "1") == "0":
        return
    _coalescer = MetricCoalescer()
    _coalescer.start()
    when_imported("localstack.services.sqs.provider", _publish_through_coalescer)  # not at start: on_import.py
    LOG.info("edalab: SQS per-message metrics are sent once every %.0f s", FLUSH_SECONDS)


def _publish_through_coalescer(provider) -> None:
    if _coalescer is not None:
        provider.publish_sqs_metric = _coalescer.publish


@hooks.on_infra_shutdown()
def stop_sqs_metric_coalescer():
    if _coalescer is not None:
        _coalescer.stop()

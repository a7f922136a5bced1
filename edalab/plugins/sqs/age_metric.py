"""SQS's `ApproximateAgeOfOldestMessage` metric, published with the queue's other approximate metrics.

Why this exists: AWS publishes, per queue (`QueueName` dimension, namespace AWS/SQS), the
approximate age in Seconds of the oldest non-deleted message (visible, in flight or delayed),
the metric a learner alarms on to see a consumer falling behind. A message received three
times or more without being deleted is moved to the back: the metric then points at the
oldest message received fewer times ("Available CloudWatch metrics for Amazon SQS"). A message
moved to a dead-letter queue counts from when it arrived there. An empty queue reports 0,
like the queue's other approximate metrics.

LocalStack's `CloudwatchPublishWorker.publish_approximate_cloudwatch_metrics`
(`services/sqs/provider.py`) sends ApproximateNumberOfMessagesVisible / NotVisible / Delayed
every SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL and leaves this one as a TODO. This start-up hook
wraps that method so the age goes out in the same beat, one PutMetricData per account and
region.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from localstack.runtime import hooks

from edalab.plugins import uses_stock
from edalab.plugins.metric_batches import put_metric_data
from edalab.plugins.on_import import when_imported

LOG = logging.getLogger(__name__)

# AWS: after this many receives without a delete, a message no longer counts as the oldest
_RECEIVES_BEFORE_MOVED_BACK = 3


def _undeleted_messages(queue) -> list:
    """Every message of `queue` not deleted: visible (standard heap or FIFO groups), in flight, delayed."""
    with queue.mutex:
        if hasattr(queue, "message_groups"):
            visible = [message for group in queue.message_groups.values() for message in group.messages]
        else:
            visible = list(queue.visible.queue)
        candidates = visible + list(queue.inflight) + list(queue.delayed)
    return [message for message in candidates if not message.deleted]


def oldest_message_age(messages, now: float) -> int:
    """Whole seconds since the oldest message (by its arrival in this queue) was sent; 0 for none.
    Messages received three times or more stand behind the others, as on AWS."""
    if not messages:
        return 0
    fresh = [message for message in messages if message.receive_count < _RECEIVES_BEFORE_MOVED_BACK]
    oldest = min(message.created for message in (fresh or messages))
    return max(0, int(now - oldest))


def publish_ages() -> None:
    from localstack.services.sqs.models import sqs_stores

    now = time.time()
    timestamp = datetime.now(UTC)
    for account_id, region, store in sqs_stores.iter_stores():
        metric_data = [
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": queue.name}],
                "Unit": "Seconds",
                "Timestamp": timestamp,
                "Value": float(oldest_message_age(_undeleted_messages(queue), now)),
            }
            for queue in list(store.queues.values())
        ]
        if metric_data:
            try:
                put_metric_data(account_id, region, "AWS/SQS", metric_data)
            except Exception as error:  # a lost metric must never stop the queue service
                LOG.warning("edalab: could not publish ApproximateAgeOfOldestMessage: %s", error)


@hooks.on_infra_start()
def start_age_metric():
    """Adds the age to what the SQS provider reports every interval (not with EDALAB_STOCK_SERVICES=sqs)."""
    if uses_stock("sqs"):
        return
    when_imported("localstack.services.sqs.provider", _publish_age_too)  # not imported at start: on_import.py
    LOG.info("edalab: SQS publishes ApproximateAgeOfOldestMessage")


def _publish_age_too(provider) -> None:
    publish_others = provider.CloudwatchPublishWorker.publish_approximate_cloudwatch_metrics

    def publish_with_age(self):
        publish_others(self)
        publish_ages()

    provider.CloudwatchPublishWorker.publish_approximate_cloudwatch_metrics = publish_with_age

"""Mixin of the Logs provider: Embedded Metric Format lines in log events become CloudWatch metrics.

Why this exists: on AWS, CloudWatch Logs reads every event put to a log group (a Lambda
function's output included, since Lambda puts each line of it) and turns those that are
Embedded Metric Format documents into metrics, in the document's namespace, for every
dimension set, with its units, storage resolution and timestamp; the log event is stored as
it is, valid or not ("Embedding metrics within logs"; no header needed any more). Powertools
`Metrics` relies on this. LocalStack's `put_log_events` only stores the line.

`put_log_events` here lets the providers behind it store the events first (so a refused
request extracts nothing, nor does an event refused as too old or too new), then reads EMF
out of the stored events (`emf.emf_data`) and adds the data points to the shared batcher
(`edalab.plugins.metric_batches`), which sends them within a second. Other mixins (PatternFiltering) override `put_log_events` too; each calls
`super()`, so every one of them sees every event.
"""

from __future__ import annotations

import logging

from localstack.aws.api import RequestContext
from localstack.aws.api.logs import (
    Entity,
    InputLogEvents,
    LogGroupName,
    LogStreamName,
    PutLogEventsResponse,
    SequenceToken,
)

from edalab.plugins.logs.emf import emf_data
from edalab.plugins.logs.pattern_filtering import _accepted  # the events PutLogEvents stored
from edalab.plugins.metric_batches import shared_batcher

LOG = logging.getLogger(__name__)


def publish_embedded_metrics(account_id: str, region: str, log_events: InputLogEvents) -> int:
    """Adds the EMF data points of `log_events` to the shared batcher; returns how many samples."""
    samples = 0
    for event in log_events:
        for datum in emf_data(event.get("message") or ""):
            batcher = shared_batcher()
            for value in datum.values:
                batcher.add(account_id, region, datum.namespace, datum.name, value, datum.unit,
                            datum.dimensions, timestamp=datum.timestamp,
                            storage_resolution=datum.storage_resolution)
            samples += len(datum.values)
    return samples


class EmbeddedMetrics:
    """Operations this mixin answers before LocalStack's Logs provider does."""

    def put_log_events(
        self,
        context: RequestContext,
        log_group_name: LogGroupName,
        log_stream_name: LogStreamName,
        log_events: InputLogEvents,
        sequence_token: SequenceToken | None = None,
        entity: Entity | None = None,
        **kwargs,
    ) -> PutLogEventsResponse:
        response = super().put_log_events(
            context, log_group_name, log_stream_name, log_events, sequence_token, entity, **kwargs
        )
        try:
            stored = _accepted(log_events, (response or {}).get("rejectedLogEventsInfo") or {})
            publish_embedded_metrics(context.account_id, context.region, stored)
        except Exception as error:  # the events are stored; a metric problem must not fail the call
            LOG.warning("edalab: could not extract embedded metrics from %s: %s", log_group_name, error)
        return response

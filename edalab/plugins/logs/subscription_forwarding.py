"""Subscription filters as AWS delivers them: each filter forwards the events its own pattern matches.

AWS: a log group has up to two subscription filters; each sends the events of a PutLogEvents
that its filter pattern matches, gzipped and base64-encoded as `{"awslogs": {"data": ...}}` for
Lambda (invoked asynchronously) or as the gzipped record for Kinesis and Firehose, with
`messageType: DATA_MESSAGE`, the owner, group, stream, the filter's name and the events.

LocalStack's community provider (`moto_put_log_events` in `localstack/services/logs/provider.py`)
matched nothing (its matcher always said yes), and with two filters the second one chose from
what the first had forwarded, because both shared one list. It also invoked a Lambda destination
synchronously, inside the PutLogEvents call, and a failed delivery failed the call.

`store_and_forward` replaces moto's `LogStream.put_log_events` (as LocalStack's patch did) when
our provider is selected: it stores the events exactly as LocalStack's patch stored them, then
forwards per filter with the shared matcher (filter_pattern.py).
"""

from __future__ import annotations

import base64
import gzip
import json
import logging

from localstack.aws.connect import connect_to
from localstack.utils.aws import arns
from localstack.utils.aws.client_types import ServicePrincipal
from moto.core.utils import unix_time_millis
from moto.logs.models import LogEvent

from edalab.plugins.logs.filter_pattern import InvalidFilterPattern, compile_pattern

LOG = logging.getLogger(__name__)


def store_and_forward(self, log_events: list[dict]) -> str:
    """moto's LogStream.put_log_events: stores the events, then each subscription filter forwards its matches."""
    self.last_ingestion_time = int(unix_time_millis())
    self.stored_bytes += sum(len(event["message"]) for event in log_events)
    stored = [LogEvent(self.last_ingestion_time, event) for event in log_events]
    self.events += stored
    self.upload_sequence_token += 1
    for subscription in list(self.log_group.subscription_filters.values()):
        try:
            matcher = compile_pattern(subscription.filter_pattern)
        except InvalidFilterPattern:
            continue  # refused when it was put; nothing to forward
        chosen = [event for event in stored if matcher(event.message) is not None]
        if chosen and subscription.destination_arn:
            try:
                _deliver(self, subscription, chosen)
            except Exception as error:  # the events are stored; a delivery problem must not fail the call
                LOG.warning("edalab: subscription filter %s could not deliver to %s: %s",
                            subscription.name, subscription.destination_arn, error)
    return f"{self.upload_sequence_token:056d}"


def _payload(stream, subscription, events: list[LogEvent]) -> bytes:
    data = {
        "messageType": "DATA_MESSAGE",
        "owner": stream.account_id,
        "logGroup": stream.log_group.name,
        "logStream": stream.log_stream_name,
        "subscriptionFilters": [subscription.name],
        "logEvents": [{"id": str(event.event_id), "timestamp": event.timestamp, "message": event.message}
                      for event in events],
    }
    return gzip.compress(json.dumps(data, separators=(",", ":")).encode("utf-8"))


def _deliver(stream, subscription, events: list[LogEvent]) -> None:
    destination = subscription.destination_arn
    payload = _payload(stream, subscription, events)
    group_arn = arns.log_group_arn(stream.log_group.name, stream.account_id, stream.region)
    region = arns.parse_arn(destination)["region"]
    if subscription.role_arn:
        factory = connect_to.with_assumed_role(role_arn=subscription.role_arn, service_principal=ServicePrincipal.logs,
                                               region_name=region)
    else:
        factory = connect_to(aws_access_key_id=arns.parse_arn(destination)["account"], region_name=region)
    if ":lambda:" in destination:
        event = {"awslogs": {"data": base64.b64encode(payload).decode("utf-8")}}
        factory.lambda_.request_metadata(source_arn=group_arn, service_principal=ServicePrincipal.logs).invoke(
            FunctionName=destination, InvocationType="Event", Payload=json.dumps(event))
    elif ":kinesis:" in destination:
        factory.kinesis.request_metadata(source_arn=group_arn, service_principal=ServicePrincipal.logs).put_record(
            StreamName=arns.kinesis_stream_name(destination), Data=payload, PartitionKey=stream.log_group.name)
    elif ":firehose:" in destination:
        factory.firehose.request_metadata(source_arn=group_arn, service_principal=ServicePrincipal.logs).put_record(
            DeliveryStreamName=arns.firehose_name(destination), Record={"Data": payload})

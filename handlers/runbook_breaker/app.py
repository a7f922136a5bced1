"""The automatic circuit breaker of lab 09: opens when the consumer's error-rate alarm fires.

The alarm edalab-runbook-consumer-error-rate publishes to the topic edalab-runbook-breaker,
which invokes this function. On a change to ALARM it disables the consumer's event source
mapping (the orders stop being received: they wait in the queue, safe, instead of burning their
three receives and landing in the DLQ) and emails on-call through edalab-runbook-oncall, naming
the runbook that closes the breaker again. It never closes the breaker itself: a person checks
that the cause is fixed first (runbooks/circuit_breaker.md).
"""

import json
import os

import boto3
from aws_lambda_powertools import Logger

LOG = Logger()
LAMBDA = boto3.client("lambda")
SNS = boto3.client("sns")


def handler(event, context):
    for record in event.get("Records", []):
        alarm = json.loads(record["Sns"]["Message"])
        LOG.append_keys(alarm=alarm.get("AlarmName"), state=alarm.get("NewStateValue"),
                        correlation_id=record["Sns"].get("MessageId"))
        if alarm.get("NewStateValue") != "ALARM":
            LOG.info("not an ALARM: the breaker stays as it is (closing it is a person's decision)")
            continue
        uuid = os.environ["MAPPING_UUID"]
        LAMBDA.update_event_source_mapping(UUID=uuid, Enabled=False)
        LOG.warning("circuit breaker opened: consumer mapping disabled", extra={"mapping": uuid})
        SNS.publish(
            TopicArn=os.environ["ONCALL_TOPIC_ARN"],
            Subject="Circuit breaker opened: edalab-runbook-consumer paused",
            Message=(f"The alarm {alarm.get('AlarmName')} fired: {alarm.get('NewStateReason')}\n"
                     f"The consumer's mapping {uuid} is now disabled; orders wait in edalab-runbook-orders.\n"
                     "Find and fix the cause, then close the breaker: labs/09-runbooks/runbooks/circuit_breaker.md"),
        )
    return {"ok": True}

"""The audit trail of lab 09: a second rule on edalab-runbook-bus sends every order here.

It only logs each order (with its correlation id). It exists so a replay has a rule it must
NOT reach: replay_archive.py sends the archived events to the orders rule alone, and this log
shows that the audit trail saw each order once.
"""

from aws_lambda_powertools import Logger

LOG = Logger()


def handler(event, context):
    detail = event.get("detail") or {}
    LOG.info("order seen", extra={"order_id": detail.get("order_id"), "correlation_id": detail.get("correlation_id"),
                                  "event_id": event.get("id"), "replay_name": event.get("replay-name")})
    return {"ok": True}

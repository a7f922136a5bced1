"""Delivering an event to a rule's target as AWS does: retries, then the target's dead-letter queue.

AWS ("Event retry policy and using dead-letter queues"): a delivery that fails with a retriable
error (throttling, a 5xx, a connection failure, a timeout) is retried under the target's
`RetryPolicy` (`MaximumRetryAttempts`, `MaximumEventAgeInSeconds`; by default 185 attempts over
24 hours). Errors that retrying cannot fix (the target no longer exists, no permission, a bad
parameter) are not retried. When delivery has failed for good, the event goes to the target's
`DeadLetterConfig` SQS queue with the message attributes RULE_ARN, TARGET_ARN, ERROR_CODE,
ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION (`MaximumRetryAttempts` or `MaximumEventAgeInSeconds`,
when a retry limit ended it) and RETRY_ATTEMPTS. LocalStack stored `DeadLetterConfig` and
`RetryPolicy` but only logged a failed delivery (`events/provider.py::_process_rules`).

Local timing (a learner must not wait a day): retries start after 0.1 s and double up to 1 s
between attempts, and the event's age limit is `MaximumEventAgeInSeconds` / 60 in real seconds
(the minimum, 60 s, is 1 s here; the default 24 h is 24 minutes). The attempt count is the
target's own. So a target that throttles for good reaches its dead-letter queue within a second
or two with `MaximumEventAgeInSeconds: 60`; a deleted function or queue reaches it at once.

The sender class also fills input transformers with `input_transformer.render` (falsy values
kept). It is mixed into each of LocalStack's TargetSender classes by `with_edalab_delivery`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from edalab.plugins.events import input_transformer

LOG = logging.getLogger(__name__)

# AWS's defaults for a target without a RetryPolicy.
DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 185
DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 86_400
# Local compression of AWS's timing; see the module docstring.
AGE_LIMIT_SCALE = 1 / 60
FIRST_RETRY_DELAY_SECONDS = 0.1
LONGEST_RETRY_DELAY_SECONDS = 1.0

_NO_RESOURCE_CODES = {
    "ResourceNotFoundException", "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue",
    "NotFoundException", "NotFound", "StateMachineDoesNotExist", "StreamNotFound",
    "ResourceNotFound", "LogGroupNotFound",
}
_NO_PERMISSION_CODES = {"AccessDenied", "AccessDeniedException", "AuthorizationError", "AuthorizationErrorException"}
_THROTTLING_CODES = {
    "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
    "ProvisionedThroughputExceededException", "KMSThrottlingException",
}


@dataclass(frozen=True)
class Failure:
    """Why a delivery failed, in AWS's dead-letter terms."""

    code: str  # an ERROR_CODE value from AWS's list
    message: str
    retriable: bool


def classify(error: BaseException) -> Failure:
    """AWS's ERROR_CODE for an exception raised while sending to a target, and whether AWS
    would retry it."""
    from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code, message = str(details.get("Code", "")), str(details.get("Message", "")) or str(error)
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _NO_RESOURCE_CODES or code.endswith("NotFoundException") or code.endswith("DoesNotExist"):
            return Failure("NO_RESOURCE", message, retriable=False)
        if code in _NO_PERMISSION_CODES:
            return Failure("NO_PERMISSIONS", message, retriable=False)
        if code in _THROTTLING_CODES or status == 429:
            return Failure("THROTTLING", message, retriable=True)
        if status >= 500:
            return Failure("INTERNAL_ERROR", message, retriable=True)
        return Failure("INVALID_PARAMETER", message, retriable=False)
    if isinstance(error, ReadTimeoutError | TimeoutError):
        return Failure("TIMEOUT", str(error), retriable=True)
    if isinstance(error, ConnectionError | OSError):
        return Failure("CONNECTION_FAILURE", str(error), retriable=True)
    return Failure("UNKNOWN", str(error) or type(error).__name__, retriable=False)


@dataclass(frozen=True)
class RetryBudget:
    """A target's RetryPolicy in local time."""

    maximum_attempts: int
    age_limit_seconds: float

    @classmethod
    def of(cls, target: dict) -> RetryBudget:
        policy = target.get("RetryPolicy") or {}
        attempts = policy.get("MaximumRetryAttempts")
        age = policy.get("MaximumEventAgeInSeconds")
        return cls(
            maximum_attempts=DEFAULT_MAXIMUM_RETRY_ATTEMPTS if attempts is None else int(attempts),
            age_limit_seconds=(DEFAULT_MAXIMUM_EVENT_AGE_SECONDS if age is None else int(age)) * AGE_LIMIT_SCALE,
        )

    @staticmethod
    def delay_before(retry: int) -> float:
        """Seconds to wait before retry number `retry` (1, 2, …)."""
        return min(FIRST_RETRY_DELAY_SECONDS * 2 ** (retry - 1), LONGEST_RETRY_DELAY_SECONDS)

    def exhausted(self, retries_done: int, age_seconds: float) -> str | None:
        """The EXHAUSTED_RETRY_CONDITION that stops further retries, or None to retry again."""
        if retries_done >= self.maximum_attempts:
            return "MaximumRetryAttempts"
        if age_seconds + self.delay_before(retries_done + 1) > self.age_limit_seconds:
            return "MaximumEventAgeInSeconds"
        return None


def dead_letter_attributes(rule_arn: str, target_arn: str, failure: Failure, retries_done: int,
                           exhausted: str | None) -> dict[str, dict[str, str]]:
    """The SQS message attributes AWS sets on a dead-lettered event."""
    values = {
        "RULE_ARN": rule_arn,
        "TARGET_ARN": target_arn,
        "ERROR_CODE": failure.code,
        "ERROR_MESSAGE": failure.message[:2000] or failure.code,
        "RETRY_ATTEMPTS": str(retries_done),
    }
    if exhausted:
        values["EXHAUSTED_RETRY_CONDITION"] = exhausted
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


class EdaLabDelivery:
    """Mixed in front of a LocalStack TargetSender: retries, dead letters, AWS's transformer."""

    def process_event(self, event, trace_header):
        original = json.loads(json.dumps(event, default=str)) if isinstance(event, dict) else event
        if isinstance(original, dict):
            original.pop("event-bus-name", None)
        try:
            super().process_event(event, trace_header)
        except Exception as error:  # noqa: BLE001 - every failure is a failed delivery
            self._after_failure(original, trace_header, classify(error), retries_done=0, first_try=time.monotonic())

    def transform_event_with_target_input_transformer(self, transformer, event):
        reserved = set(self._get_predefined_template_replacements(event))
        values = input_transformer.path_values(transformer.get("InputPathsMap") or {}, event, reserved)
        values.update(self._get_predefined_template_replacements(event))
        return input_transformer.render(transformer["InputTemplate"], values)

    def _after_failure(self, event, trace_header, failure: Failure, retries_done: int, first_try: float) -> None:
        LOG.info("EventBridge delivery to %s failed (%s: %s), %d retries done",
                 self.target["Arn"], failure.code, failure.message, retries_done)
        exhausted = None
        if failure.retriable:
            budget = RetryBudget.of(self.target)
            exhausted = budget.exhausted(retries_done, time.monotonic() - first_try)
            if exhausted is None:
                delay = budget.delay_before(retries_done + 1)
                timer = threading.Timer(delay, self._retry, args=(event, trace_header, retries_done + 1, first_try))
                timer.daemon = True
                _pending_retries.add(timer)
                timer.start()
                return
        self._send_to_dead_letter_queue(event, failure, retries_done, exhausted)

    def _retry(self, event, trace_header, retries_done: int, first_try: float) -> None:
        _pending_retries.discard(threading.current_thread())
        attempt = json.loads(json.dumps(event)) if isinstance(event, dict) else event
        try:
            super().process_event(attempt, trace_header)
        except Exception as error:  # noqa: BLE001
            self._after_failure(event, trace_header, classify(error), retries_done, first_try)

    def _send_to_dead_letter_queue(self, event, failure: Failure, retries_done: int, exhausted: str | None) -> None:
        dead_letter_arn = (self.target.get("DeadLetterConfig") or {}).get("Arn")
        if not dead_letter_arn:
            LOG.info("EventBridge dropped an event for %s: no dead-letter queue", self.target["Arn"])
            return
        from localstack.aws.connect import connect_to
        from localstack.services.events.utils import to_json_str
        from localstack.utils.aws.arns import extract_account_id_from_arn, extract_region_from_arn, sqs_queue_url_for_arn
        from localstack.utils.aws.client_types import ServicePrincipal

        try:
            sqs = connect_to(aws_access_key_id=extract_account_id_from_arn(dead_letter_arn),
                             region_name=extract_region_from_arn(dead_letter_arn)).sqs
            sqs = sqs.request_metadata(service_principal=ServicePrincipal.events, source_arn=self.rule_arn)
            sqs.send_message(
                QueueUrl=sqs_queue_url_for_arn(dead_letter_arn),
                MessageBody=to_json_str(event),
                MessageAttributes=dead_letter_attributes(self.rule_arn, self.target["Arn"], failure,
                                                         retries_done, exhausted),
            )
        except Exception as error:  # noqa: BLE001 - AWS counts InvocationsFailedToBeSentToDLQ
            LOG.warning("EventBridge could not send a failed event to dead-letter queue %s: %s",
                        dead_letter_arn, error)


_MIXED: dict[type, type] = {}
# Retries waiting for their delay; an engine reset cancels them (edalab/plugins/reset).
_pending_retries: set[threading.Timer] = set()


def cancel_pending_retries() -> int:
    """Cancels every retry still waiting for its delay; returns how many."""
    timers = list(_pending_retries)
    for timer in timers:
        timer.cancel()
        _pending_retries.discard(timer)
    return len(timers)


def with_edalab_delivery(sender: Any) -> Any:
    """A new sender like `sender` (LocalStack's, for the same target), of a class with
    EdaLabDelivery in front of LocalStack's sender class."""
    original = type(sender)
    if issubclass(original, EdaLabDelivery):
        return sender
    mixed = _MIXED.get(original)
    if mixed is None:
        mixed = _MIXED[original] = type(f"EdaLab{original.__name__}", (EdaLabDelivery, original), {})
    return mixed(sender.target, sender.rule_arn, sender.rule_name, sender.service, sender.region, sender.account_id)

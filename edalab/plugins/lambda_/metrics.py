"""Lambda's invocation metrics (Invocations, Errors, Duration, Throttles, ConcurrentExecutions) as AWS publishes them.

Why this exists: AWS's "Types of metrics for Lambda functions" lists, in namespace AWS/Lambda,
- `Duration` (Milliseconds): the time the function code spent processing the event, the same
  number as the REPORT line's `Duration`, timestamped when the function was invoked;
- `Throttles` (Count): invocation requests refused with TooManyRequestsException because no
  concurrency was left (reserved concurrency 0 or used up); they are not `Invocations`;
- `ConcurrentExecutions` (Count): how many instances are processing events at once, read
  with the Maximum statistic.
Each of them, and `Invocations` and `Errors`, is published per function (`FunctionName`), per
version or alias invoked (`FunctionName` + `Resource` "name:qualifier", and `ExecutedVersion`
too for an alias) and across all functions (no dimensions). LocalStack's Lambda service
publishes only `Invocations` and `Errors`, per function only, with a thread and a PutMetricData
call per invocation (`services/lambda_/invocation/metrics.py`, called from
`version_manager.LambdaVersionManager.invoke`).

This start-up hook wraps `LambdaVersionManager.invoke` (invocations, errors, throttles and
durations, in place of LocalStack's two publishers; the duration is the one our executor
measured and printed, `executor.MeasuredInvocationResult`) and `ExecutionEnvironment.invoke`
(an environment processing an event counts as one concurrent execution). Data points go
through the shared batcher (`edalab.plugins.metric_batches`); concurrency is sampled once a
second as the maximum reached in that second, and nothing is sent for a second in which
nothing ran, as Lambda sends no zeroes.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from datetime import UTC, datetime

from localstack.runtime import hooks

from edalab.plugins import uses_stock
from edalab.plugins.metric_batches import Dimensions, MetricBatcher, shared_batcher
from edalab.plugins.on_import import when_imported

LOG = logging.getLogger(__name__)

NAMESPACE = "AWS/Lambda"
_ACCOUNT_WIDE = ""  # the gauge key of "all functions of the account and region"


def invocation_dimension_sets(function_name: str, invoked_qualifier: str | None,
                              executed_version: str | None) -> list[Dimensions]:
    """The dimension sets AWS publishes an invocation's metric under: the function, the
    version or alias invoked (with the version an alias ran), and the whole account."""
    sets: list[Dimensions] = [(("FunctionName", function_name),)]
    if invoked_qualifier:
        resource = (("FunctionName", function_name), ("Resource", f"{function_name}:{invoked_qualifier}"))
        sets.append(resource)
        if executed_version and executed_version != invoked_qualifier:
            sets.append(resource + (("ExecutedVersion", executed_version),))
    sets.append(())
    return sets


def qualifier_of(invoked_arn: str | None) -> str | None:
    """`1` or `live` from arn:aws:lambda:region:account:function:name[:qualifier]; None unqualified."""
    parts = (invoked_arn or "").split(":")
    return parts[7] if len(parts) > 7 and parts[7] else None


class ConcurrencyGauge:
    """How many executions run at once per function and per account, and the most since last read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (account, region, function name or _ACCOUNT_WIDE) -> running now / most since last sample
        self._running: dict[tuple[str, str, str], int] = defaultdict(int)
        self._peak: dict[tuple[str, str, str], int] = {}

    def enter(self, account_id: str, region: str, function_name: str) -> None:
        with self._lock:
            for key in ((account_id, region, function_name), (account_id, region, _ACCOUNT_WIDE)):
                self._running[key] += 1
                self._peak[key] = max(self._peak.get(key, 0), self._running[key])

    def leave(self, account_id: str, region: str, function_name: str) -> None:
        with self._lock:
            for key in ((account_id, region, function_name), (account_id, region, _ACCOUNT_WIDE)):
                self._running[key] -= 1
                if not self._running[key]:
                    del self._running[key]

    def take_peaks(self) -> dict[tuple[str, str, str], int]:
        """The most that ran at once since the last call (keys that ran at all); starts a new period."""
        with self._lock:
            peaks = {key: peak for key, peak in self._peak.items() if peak}
            self._peak = dict(self._running)
        return peaks

    def publish_peaks(self, batcher: MetricBatcher) -> None:
        for (account_id, region, function_name), peak in self.take_peaks().items():
            dimensions = (("FunctionName", function_name),) if function_name else ()
            batcher.add(account_id, region, NAMESPACE, "ConcurrentExecutions", peak, "Count", dimensions)


class LambdaMetrics:
    """What the wrapped Lambda service calls report; publishes through `batcher`."""

    def __init__(self, batcher: MetricBatcher) -> None:
        self.batcher = batcher
        self.concurrency = ConcurrencyGauge()
        batcher.add_sampler(self.concurrency.publish_peaks)

    def _add(self, function_version, invoked_arn: str | None, metric: str, value: float, unit: str,
             timestamp: datetime) -> None:
        function_id = function_version.id
        for dimensions in invocation_dimension_sets(function_id.function_name, qualifier_of(invoked_arn),
                                                    function_id.qualifier):
            self.batcher.add(function_id.account, function_id.region, NAMESPACE, metric, value, unit,
                             dimensions, timestamp=timestamp)

    def throttled(self, function_version, invoked_arn: str | None, invoked_at: datetime) -> None:
        self._add(function_version, invoked_arn, "Throttles", 1, "Count", invoked_at)

    def invoked(self, function_version, invoked_arn: str | None, result, invoked_at: datetime) -> None:
        self._add(function_version, invoked_arn, "Invocations", 1, "Count", invoked_at)
        if result.is_error:
            self._add(function_version, invoked_arn, "Errors", 1, "Count", invoked_at)
        duration_ms = getattr(result, "duration_ms", None)
        if duration_ms is not None:
            self._add(function_version, invoked_arn, "Duration", duration_ms, "Milliseconds", invoked_at)


def _whole_second(moment: datetime) -> datetime:
    """Invocations of one second share a series, so a busy function's durations go out as one datum."""
    return moment.replace(microsecond=0)


def _published_above(**_ignored) -> None:
    """Stands in for LocalStack's per-invocation Invocations / Errors publishers."""


# Invocations under way (started, their metrics not yet added): an engine reset waits for them
# to end before it drops the metrics not yet sent (edalab/plugins/reset/cloudwatch_runtime.py).
_in_flight = 0
_in_flight_lock = threading.Lock()


def invocations_in_flight() -> int:
    return _in_flight


def _count_in_flight(change: int) -> None:
    global _in_flight
    with _in_flight_lock:
        _in_flight += change


def install(metrics: LambdaMetrics) -> None:
    from localstack.aws.api.lambda_ import TooManyRequestsException
    from localstack.services.lambda_.invocation.execution_environment import ExecutionEnvironment
    from localstack.services.lambda_.invocation import version_manager
    from localstack.services.lambda_.invocation.version_manager import LambdaVersionManager

    invoke_version = LambdaVersionManager.invoke
    invoke_environment = ExecutionEnvironment.invoke

    def invoke_measured(self, *, invocation):
        invoked_at = _whole_second(datetime.now(UTC))
        _count_in_flight(1)
        try:
            try:
                result = invoke_version(self, invocation=invocation)
            except TooManyRequestsException:
                metrics.throttled(self.function_version, invocation.invoked_arn, invoked_at)
                raise
            metrics.invoked(self.function_version, invocation.invoked_arn, result, invoked_at)
            return result
        finally:
            _count_in_flight(-1)

    def invoke_counted(self, invocation):
        function_id = self.function_version.id
        metrics.concurrency.enter(function_id.account, function_id.region, function_id.function_name)
        try:
            return invoke_environment(self, invocation)
        finally:
            metrics.concurrency.leave(function_id.account, function_id.region, function_id.function_name)

    LambdaVersionManager.invoke = invoke_measured
    # Invocations and Errors now go out from here, batched and under every dimension set;
    # LocalStack's own (a thread and a PutMetricData each, FunctionName only) stand aside.
    version_manager.record_cw_metric_invocation = _published_above
    version_manager.record_cw_metric_error = _published_above
    ExecutionEnvironment.invoke = invoke_counted


@hooks.on_infra_start()
def start_lambda_metrics():
    """Publishes Lambda's invocation metrics as AWS does (not with EDALAB_STOCK_SERVICES=lambda)."""
    if uses_stock("lambda"):
        return
    metrics = LambdaMetrics(shared_batcher())
    # Lambda's code is patched when it is first imported, not at start (on_import.py)
    when_imported("localstack.services.lambda_.invocation.version_manager", lambda _: install(metrics))
    LOG.info("edalab: Lambda publishes Invocations, Errors, Duration, Throttles and ConcurrentExecutions")

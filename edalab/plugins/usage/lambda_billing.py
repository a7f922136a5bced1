"""Each Lambda invocation's billed duration and GB-seconds, and marking a mapping's Invoke calls.

Why this exists: Lambda bills invocations and GB-seconds of configured memory × duration
rounded up to the millisecond. The duration is the one our executor measured for the REPORT
line (`executor.MeasuredInvocationResult.duration_ms`, which `lambda_/metrics.py` publishes as
`Duration`); we read it from the invocation's result, never time it again. The wrapper sits on
`LambdaVersionManager.invoke`, as the metrics' does: a throttled invocation raises there and
is not billed (nor counted), as on AWS. Where another executor ran the function (the container
engine's Docker executor, or EDALAB_STOCK_SERVICES=lambda) the result carries no measured
duration, and the duration is read from the REPORT line in the invocation's logs instead.

LocalStack's event source mapping invokes the function with an internal client that carries no
request parameters, so its Invoke calls would look like the engine's own; `mark_mapping_invokes`
gives each new worker's client the mapping's source ARN (the queue), as AWS's `aws:SourceArn`
would be, so `callers` can name the mapping.
"""

from __future__ import annotations

import re

from edalab.plugins.usage.counters import UsageCounters

_REPORTED_DURATION = re.compile(r"REPORT RequestId: \S+\s+Duration: ([0-9.]+) ms")


def invocation_duration_ms(result) -> float | None:
    """The executor's measured duration, else the one its REPORT line shows, else None."""
    measured = getattr(result, "duration_ms", None)
    if measured is not None:
        return measured
    found = _REPORTED_DURATION.search(getattr(result, "logs", None) or "")
    return float(found.group(1)) if found else None


def install_invocation_billing(store: UsageCounters) -> None:
    from localstack.services.lambda_.invocation.version_manager import LambdaVersionManager

    invoke_version = LambdaVersionManager.invoke

    def invoke_billed(self, *, invocation):
        result = invoke_version(self, invocation=invocation)
        config = self.function_version.config
        store.invocation(self.function_version.id.function_name, int(config.memory_size or 128),
                         bool(result.is_error), invocation_duration_ms(result))
        return result

    LambdaVersionManager.invoke = invoke_billed


def mark_mapping_invokes() -> None:
    from localstack.services.lambda_.event_source_mapping.esm_worker_factory import EsmWorkerFactory

    build_worker = EsmWorkerFactory.get_esm_worker

    def build_marked_worker(self):
        worker = build_worker(self)
        source_arn = self.esm_config.get("EventSourceArn")
        sender = getattr(getattr(worker.poller, "processor", None), "sender", None)
        client = getattr(sender, "target_client", None)
        if source_arn and hasattr(client, "request_metadata"):
            sender.target_client = client.request_metadata(source_arn=source_arn, service_principal="lambda")
        return worker

    EsmWorkerFactory.get_esm_worker = build_marked_worker

"""Start-up hook: SQS event source mappings poll as AWS's do (esm_sqs_poller.py says how and why).

LocalStack's ESM worker factory builds an `SqsPoller` and an `EsmWorker` for each SQS mapping;
this hook puts our subclasses in their place in the factory's module, so every mapping created,
updated (LocalStack rebuilds the worker on each update) or restored afterwards uses them:
- `LongPollingSqsPoller`: held long poll, batching window, up to MaximumConcurrency batches;
- `InterruptibleEsmWorker`: stopping (Enabled=false), deleting and the engine's stop or reset
  also end the poller's wait at once, where LocalStack's worker only sets a flag the poller reads
  after its current poll.
It also makes Create/UpdateEventSourceMapping refuse a MaximumConcurrency outside 2-1000 with
AWS's ValidationException; LocalStack accepts any value.
With EDALAB_STOCK_SERVICES=lambda nothing is changed.
"""

from __future__ import annotations

import logging

from localstack.runtime import hooks

from edalab.plugins import uses_stock
from edalab.plugins.on_import import when_imported

LOG = logging.getLogger(__name__)

MAXIMUM_CONCURRENCY_RANGE = (2, 1000)


def validate_scaling_config(request: dict) -> None:
    """Raises AWS's ValidationException for a MaximumConcurrency outside 2-1000."""
    from localstack.services.lambda_.invocation.lambda_models import ValidationException

    value = (request.get("ScalingConfig") or {}).get("MaximumConcurrency")
    if value is None:
        return
    low, high = MAXIMUM_CONCURRENCY_RANGE
    if value < low:
        constraint = f"Member must have value greater than or equal to {low}"
    elif value > high:
        constraint = f"Member must have value less than or equal to {high}"
    else:
        return
    raise ValidationException(f"1 validation error detected: Value '{value}' at "
                              f"'scalingConfig.maximumConcurrency' failed to satisfy constraint: {constraint}")


def _interruptible_worker_class():
    from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker

    from edalab.plugins.lambda_.esm_sqs_poller import LongPollingSqsPoller

    class InterruptibleEsmWorker(EsmWorker):
        def __init__(self, esm_config, poller, *args, **kwargs):
            super().__init__(esm_config, poller, *args, **kwargs)
            if isinstance(poller, LongPollingSqsPoller):
                poller.configure(esm_config)

        def _interrupt_poller(self) -> None:
            if isinstance(self.poller, LongPollingSqsPoller):
                self.poller.interrupt()

        def start(self):
            if isinstance(self.poller, LongPollingSqsPoller):
                self.poller.resume()
            super().start()

        def stop(self):
            super().stop()
            self._interrupt_poller()

        def delete(self):
            super().delete()
            self._interrupt_poller()

        def stop_for_shutdown(self):
            super().stop_for_shutdown()
            self._interrupt_poller()

    return InterruptibleEsmWorker


def _validating(validate_event_source_mapping):
    def validate_with_scaling_config(self, context, request):
        validate_scaling_config(request)
        return validate_event_source_mapping(self, context, request)

    validate_with_scaling_config.checks_scaling_config = True
    return validate_with_scaling_config


@hooks.on_infra_start()
def install_sqs_polling():
    """Puts the long-polling poller and the interruptible worker into LocalStack's ESM factory,
    and the MaximumConcurrency check into its provider, as each is first imported (on_import.py:
    importing Lambda here cost the engine's start 0.15 s; no mapping exists before it is)."""
    if uses_stock("lambda"):
        return
    when_imported("localstack.services.lambda_.event_source_mapping.esm_worker_factory", _use_our_poller_and_worker)
    when_imported("localstack.services.lambda_.provider", _check_scaling_config)
    LOG.info("edalab: SQS event source mappings long-poll, stop at once and honour MaximumConcurrency")


def _use_our_poller_and_worker(esm_worker_factory) -> None:
    from edalab.plugins.lambda_.esm_sqs_poller import LongPollingSqsPoller

    if esm_worker_factory.SqsPoller is LongPollingSqsPoller:
        return  # an engine restarted in the same process: installed already
    esm_worker_factory.SqsPoller = LongPollingSqsPoller
    esm_worker_factory.EsmWorker = _interruptible_worker_class()


def _check_scaling_config(provider) -> None:
    validate = provider.LambdaProvider.validate_event_source_mapping
    if getattr(validate, "checks_scaling_config", False):
        return  # an engine restarted in the same process: installed already
    provider.LambdaProvider.validate_event_source_mapping = _validating(validate)

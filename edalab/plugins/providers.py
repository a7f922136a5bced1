"""The entry points of our service providers: light functions that import a provider when LocalStack asks for it.

Why this exists: to list the services it can serve (its health document, the first AWS request)
LocalStack imports every `localstack.aws.provider` entry point's module. Ours used to point into
the provider modules themselves, which import LocalStack's providers, moto and our mixins at
module level: 0.28 s of the engine's first answer went to importing Logs, CloudWatch, EventBridge
and DynamoDB code that is needed only when one of those services gets its first request.
LocalStack's own entry points work the same way (`localstack/services/providers.py`).
Selected with PROVIDER_OVERRIDE_<SERVICE>=edalab (dynamodb: moto), see `edalab.settings`.
"""

from __future__ import annotations

from localstack.services.plugins import Service, aws_provider


@aws_provider(api="logs", name="edalab")
def logs_provider() -> Service:
    from localstack.services.moto import MotoFallbackDispatcher

    from edalab.plugins.logs.provider import EdaLabLogsProvider

    return Service.for_provider(EdaLabLogsProvider(), dispatch_table_factory=MotoFallbackDispatcher)


@aws_provider(api="cloudwatch", name="edalab")
def cloudwatch_provider() -> Service:
    from edalab.plugins.cloudwatch.provider import EdaLabCloudwatchProvider

    return Service.for_provider(EdaLabCloudwatchProvider())


@aws_provider(api="events", name="edalab")
def events_provider() -> Service:
    from edalab.plugins.events.provider import EdaLabEventsProvider

    return Service.for_provider(EdaLabEventsProvider())


@aws_provider(api="dynamodb", name="moto")
def dynamodb_moto() -> Service:
    from edalab.plugins.dynamodb.moto_provider import MotoDynamoDBProvider, serialised_moto_dispatcher

    return Service.for_provider(MotoDynamoDBProvider(), dispatch_table_factory=serialised_moto_dispatcher)

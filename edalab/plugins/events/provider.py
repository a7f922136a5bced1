"""The EventBridge provider `edalab`: LocalStack's EventBridge with AWS's documented behaviour
(issue #13; being written).

Selected with PROVIDER_OVERRIDE_EVENTS=edalab (host engine settings).
"""

from __future__ import annotations

from localstack.services.events.provider import EventsProvider
from localstack.services.plugins import Service, aws_provider


class EdaLabEventsProvider(EventsProvider):
    """LocalStack's EventBridge provider with our fixes in front of it."""


@aws_provider(api="events", name="edalab")
def events_provider() -> Service:
    return Service.for_provider(EdaLabEventsProvider())

"""The EventBridge provider `edalab`: LocalStack's EventBridge with AWS's documented behaviour
(issue #13).

Selected with PROVIDER_OVERRIDE_EVENTS=edalab (host engine settings). Each fix is a mixin in
front of LocalStack's `EventsProvider`:
- `PatternValidation` (pattern_validation.py): invalid event patterns rejected at PutRule.
- `ArchivesAndReplays` (archive_replay.py): archives count and expire, replays deliver.
- target senders get retries, dead-letter queues and AWS's input transformer (delivery.py).
"""

from __future__ import annotations

from localstack.services.events.provider import EventsProvider

from edalab.plugins.events.archive_replay import ArchivesAndReplays
from edalab.plugins.events.delivery import with_edalab_delivery
from edalab.plugins.events.pattern_validation import PatternValidation


class EdaLabEventsProvider(PatternValidation, ArchivesAndReplays, EventsProvider):
    """LocalStack's EventBridge provider with our fixes in front of it."""

    def create_target_sender(self, target, rule_arn, rule_name, region, account_id):
        sender = with_edalab_delivery(
            super().create_target_sender(target, rule_arn, rule_name, region, account_id)
        )
        self._target_sender_store[sender.unique_id] = sender
        return sender

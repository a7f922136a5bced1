"""EventBridge's background work: scheduled rules' jobs, delivery retries, replays, runtime objects.

Why this exists: EventBridge has no reset hook. Its provider keeps, beside the store, runtime
objects built from it (a `RuleService` per rule, a `TargetSender` per target, bus and archive
services), and LocalStack's `JobScheduler` (one per engine) keeps a job per scheduled rule, which
goes on firing after the rule's store is cleared. Our delivery (`events/delivery.py`) keeps
retries waiting on timers and our replays run in threads. `stop()` ends all of it and forgets the
runtime objects; `start()` builds them again from whatever the store holds, as PutRule and
PutTargets would have, and gives each scheduled rule its job.
"""

from __future__ import annotations

import sys

from edalab.plugins.reset import services

_RUNTIME_STORES = ("_event_bus_services_store", "_rule_services_store", "_target_sender_store",
                   "_archive_service_store", "_replay_service_store", "_connection_service_store",
                   "_api_destination_service_store")


def _stores():
    from localstack.services.events.models import events_stores

    return list(events_stores.iter_stores())


def stop() -> None:
    provider = services.provider("events")
    if provider is None:
        return
    from localstack.aws.api.events import ReplayState
    from localstack.services.events.scheduler import JobScheduler

    JobScheduler.instance().jobs = []  # every job is a scheduled rule's; the loop thread stays
    delivery = sys.modules.get("edalab.plugins.events.delivery")
    if delivery is not None:
        delivery.cancel_pending_retries()
    for _account, _region, store in _stores():
        for replay in list(store.replays.values()):
            if replay.state in (ReplayState.STARTING, ReplayState.RUNNING):
                replay.state = ReplayState.CANCELLING  # our replay thread stops at its next event
    for name in _RUNTIME_STORES:
        if isinstance(getattr(provider, name, None), dict):
            getattr(provider, name).clear()


def _archive_service(archive):
    """An ArchiveService around an existing archive (its constructor would reset the archive's
    state and creation time)."""
    from localstack.services.events.archive import ArchiveService
    from localstack.services.events.utils import extract_event_bus_name

    service = ArchiveService.__new__(ArchiveService)
    service.archive = archive
    service.client = service._initialize_client()
    service.event_bus_name = extract_event_bus_name(archive.event_source_arn)
    service.rule_name = f"Events-Archive-{archive.name}"
    service.target_id = f"Events-Archive-{archive.name}"
    return service


def start() -> int:
    """Rebuilds the provider's runtime objects from the store; returns how many scheduled rules got a job."""
    from localstack.services.events.event_bus import EventBusService
    from localstack.services.events.rule import RuleService

    provider = services.provider("events")
    if provider is None:
        return 0
    scheduled = 0
    for account_id, region, store in _stores():
        for bus in list(store.event_buses.values()):
            provider._event_bus_services_store[bus.arn] = EventBusService(bus)
            for rule in list(bus.rules.values()):
                rule_service = RuleService(rule)
                provider._rule_services_store[rule.arn] = rule_service
                for target in list(rule.targets.values()):
                    provider.create_target_sender(target, rule.arn, rule.name, region, account_id)
                if rule_service.schedule_cron:
                    rule_service.create_schedule_job(
                        provider._get_scheduled_rule_job_function(account_id, region, rule))
                    scheduled += 1
        for archive in list(store.archives.values()):
            provider._archive_service_store[archive.arn] = _archive_service(archive)
    return scheduled

"""Archives and replays as AWS documents them ("Archiving and replaying events in EventBridge").

AWS: an archive keeps the events of one bus that match its `EventPattern` (all when it has
none) for `RetentionDays` (0 = for ever), and reports `EventCount` and `SizeBytes`. A replay
(`StartReplay`) sends the archived events whose time lies between `EventStartTime` and
`EventEndTime` back to the bus (`Destination.Arn`), to all its rules or only to the rules listed
in `Destination.FilterArns`, never to archives again; each replayed event carries a top-level
`replay-name` field. `DescribeReplay` shows STARTING, RUNNING, then COMPLETED (or CANCELLING,
CANCELLED after `CancelReplay`), with `ReplayStartTime`, `ReplayEndTime` and
`EventLastReplayedTime`.

LocalStack (`events/provider.py::start_replay`, `events/archive.py`): `StartReplay` answered 500
as soon as the archive held an event (the window compared `.replace()`d strings with datetimes),
the window was rounded to whole minutes, replayed events went to every rule through PutEvents,
`SizeBytes` stayed 0, `RetentionDays` was stored only, `UpdateArchive` left the archive's rule on
its old pattern, `ListReplays` ignored `State`, and disabled rules still received events.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from datetime import UTC, datetime

from localstack.aws.api import RequestContext, handler
from localstack.aws.api.events import (
    ArchiveDescription,
    ArchiveName,
    Arn,
    CancelReplayResponse,
    EventPattern,
    KmsKeyIdentifier,
    LimitMax100,
    ListReplaysResponse,
    NextToken,
    ReplayDescription,
    ReplayDestination,
    ReplayName,
    ReplayState,
    ResourceAlreadyExistsException,
    RetentionDays,
    RuleState,
    StartReplayResponse,
    Timestamp,
    UpdateArchiveResponse,
)
from localstack.services.events.models import Archive, FormattedEvent, Replay, ValidationException
from localstack.services.events.utils import convert_to_timezone_aware_datetime, extract_event_bus_name, is_archive_arn
from localstack.utils.xray.trace_header import TraceHeader

from edalab.plugins.events.pattern_validation import check_event_pattern

EVENT_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
CANCELLABLE = {ReplayState.STARTING, ReplayState.RUNNING}


def event_time(event: FormattedEvent) -> datetime:
    """An archived event's `time` as an aware datetime."""
    value = event["time"]
    if isinstance(value, datetime):
        return convert_to_timezone_aware_datetime(value)
    return datetime.strptime(value, EVENT_TIME_FORMAT).replace(tzinfo=UTC)


def events_in_window(archive: Archive, start: datetime, end: datetime) -> list[FormattedEvent]:
    """The archive's events with start <= time <= end, oldest first (AWS replays minute by minute)."""
    start, end = convert_to_timezone_aware_datetime(start), convert_to_timezone_aware_datetime(end)
    chosen = [event for event in list(archive.events.values()) if start <= event_time(event) <= end]
    return sorted(chosen, key=event_time)


def event_size(event: FormattedEvent) -> int:
    return len(json.dumps(event, separators=(",", ":"), default=str).encode())


class ArchivesAndReplays:
    """Provider mixin: archive bookkeeping and replays that deliver to the destination's rules."""

    def __init__(self):
        super().__init__()
        # archive ARN -> event id -> (archived at, epoch seconds; size in bytes)
        self._archived: dict[Arn, dict[str, tuple[float, int]]] = {}

    # ---- archives ----
    def _put_to_archive(self, region, account_id, archive_target_id, event) -> None:
        if event.get("replay-name"):
            return  # replayed events are never archived again
        super()._put_to_archive(region, account_id, archive_target_id, event)
        archive_name = archive_target_id.removeprefix("Events-Archive-")
        archive = self.get_store(region, account_id).archives.get(archive_name)
        if archive is None:
            return
        sizes = self._archived.setdefault(archive.arn, {})
        sizes[event["id"]] = (time.time(), event_size(event))
        self._expire(archive)

    def _expire(self, archive: Archive) -> None:
        """Drops events older than RetentionDays (0 or none: kept for ever); recounts SizeBytes."""
        sizes = self._archived.setdefault(archive.arn, {})
        if archive.retention_days:
            oldest_kept = time.time() - archive.retention_days * 86_400
            for event_id, (archived_at, _) in list(sizes.items()):
                if archived_at < oldest_kept:
                    archive.events.pop(event_id, None)
                    sizes.pop(event_id, None)
        archive.size_bytes = sum(size for event_id, (_, size) in list(sizes.items()) if event_id in archive.events)

    @handler("DescribeArchive")
    def describe_archive(self, context: RequestContext, archive_name: ArchiveName, **kwargs):
        archive = self.get_archive(archive_name, self.get_store(context.region, context.account_id))
        self._expire(archive)
        return super().describe_archive(context, archive_name, **kwargs)

    @handler("UpdateArchive")
    def update_archive(
        self,
        context: RequestContext,
        archive_name: ArchiveName,
        description: ArchiveDescription = None,
        event_pattern: EventPattern = None,
        retention_days: RetentionDays = None,
        kms_key_identifier: KmsKeyIdentifier = None,
        **kwargs,
    ) -> UpdateArchiveResponse:
        check_event_pattern(event_pattern)
        response = super().update_archive(
            context, archive_name, description, event_pattern, retention_days, kms_key_identifier, **kwargs
        )
        if event_pattern is not None:  # the archive's rule must filter with the new pattern
            self._archive_service_store[response["ArchiveArn"]]._create_archive_rule()
        return response

    # ---- replays ----
    @handler("StartReplay")
    def start_replay(
        self,
        context: RequestContext,
        replay_name: ReplayName,
        event_source_arn: Arn,
        event_start_time: Timestamp,
        event_end_time: Timestamp,
        destination: ReplayDestination,
        description: ReplayDescription = None,
        **kwargs,
    ) -> StartReplayResponse:
        region, account_id = context.region, context.account_id
        store = self.get_store(region, account_id)
        if replay_name in store.replays:
            raise ResourceAlreadyExistsException(f"Replay {replay_name} already exists.")
        self._validate_replay_time(event_start_time, event_end_time)
        if event_source_arn not in self._archive_service_store:
            archive_name = event_source_arn.split("/")[-1]
            raise ValidationException(
                f"Parameter EventSourceArn is not valid. Reason: Archive {archive_name} does not exist."
            )
        self._validate_replay_destination(destination, event_source_arn)
        bus = self.get_event_bus(extract_event_bus_name(destination["Arn"]), store)
        for rule_arn in destination.get("FilterArns") or []:
            if rule_arn not in {rule.arn for rule in list(bus.rules.values())}:
                raise ValidationException(
                    f"Parameter Destination.FilterArns is not valid. Reason: Rule {rule_arn} does not exist "
                    f"on event bus {bus.name}."
                )
        replay_service = self.create_replay_service(
            replay_name, region, account_id, event_source_arn, destination,
            event_start_time, event_end_time, description,
        )
        replay = replay_service.replay
        replay.replay_start_time = datetime.now(UTC)
        store.replays[replay_name] = replay
        archive = self._archive_service_store[event_source_arn].archive
        self._expire(archive)
        chosen = events_in_window(archive, replay.event_start_time, replay.event_end_time)
        response = StartReplayResponse(
            ReplayArn=replay.arn, State=ReplayState.STARTING, ReplayStartTime=replay.replay_start_time
        )
        threading.Thread(
            target=self._run_replay, args=(replay, chosen, region, account_id),
            name=f"events-replay-{replay_name}", daemon=True,
        ).start()
        return response

    def _run_replay(self, replay: Replay, chosen: list[FormattedEvent], region: str, account_id: str) -> None:
        if replay.state == ReplayState.STARTING:
            replay.state = ReplayState.RUNNING
        try:
            self._replay_events(replay, chosen, region, account_id)
        except Exception as error:  # noqa: BLE001 - AWS reports a replay that could not go on as FAILED
            replay.state, replay.state_reason = ReplayState.FAILED, str(error)[:512]
            replay.replay_end_time = datetime.now(UTC)
            return
        replay.replay_end_time = datetime.now(UTC)
        replay.state = ReplayState.CANCELLED if replay.state == ReplayState.CANCELLING else ReplayState.COMPLETED

    def _replay_events(self, replay: Replay, chosen: list[FormattedEvent], region: str, account_id: str) -> None:
        store = self.get_store(region, account_id)
        bus = self.get_event_bus(extract_event_bus_name(replay.destination["Arn"]), store)
        only = set(replay.destination.get("FilterArns") or [])
        for archived in chosen:
            if replay.state != ReplayState.RUNNING:
                return
            event = copy.deepcopy(archived)
            event["replay-name"] = replay.name
            for rule in list(bus.rules.values()):
                if rule.schedule_expression or (only and rule.arn not in only):
                    continue
                if any(is_archive_arn(target["Arn"]) for target in list(rule.targets.values())):
                    continue  # replays go to rules, never to archives
                self._process_rules(rule, region, account_id, event, TraceHeader().ensure_root_exists())
            replay.event_last_replayed_time = event_time(archived)

    @handler("CancelReplay")
    def cancel_replay(self, context: RequestContext, replay_name: ReplayName, **kwargs) -> CancelReplayResponse:
        replay = self.get_replay(replay_name, self.get_store(context.region, context.account_id))
        if replay.state not in CANCELLABLE:
            raise ValidationException(f"Replay {replay_name} is not in a valid state for this operation.")
        replay.state = ReplayState.CANCELLING
        return CancelReplayResponse(ReplayArn=replay.arn, State=ReplayState.CANCELLING)

    @handler("ListReplays")
    def list_replays(
        self,
        context: RequestContext,
        name_prefix: ReplayName = None,
        state: ReplayState = None,
        event_source_arn: Arn = None,
        next_token: NextToken = None,
        limit: LimitMax100 = None,
        **kwargs,
    ) -> ListReplaysResponse:
        store = self.get_store(context.region, context.account_id)
        replays = {
            name: replay for name, replay in dict(store.replays).items()
            if (not name_prefix or name.startswith(name_prefix))
            and (not state or replay.state == state)
            and (not event_source_arn or replay.event_source_arn == event_source_arn)
        }
        page, next_token = self._get_limited_dict_and_next_token(replays, next_token, limit)
        response = ListReplaysResponse(Replays=self._replay_dict_to_replay_response_list(page))
        if next_token is not None:
            response["NextToken"] = next_token
        return response

    # ---- rules ----
    def _process_rules(self, rule, region, account_id, event_formatted, trace_header) -> None:
        if rule.state == RuleState.DISABLED:
            return  # AWS: a disabled rule does not match events
        super()._process_rules(rule, region, account_id, event_formatted, trace_header)

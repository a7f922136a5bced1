"""Event patterns are checked when a rule or an archive is created, as AWS does.

AWS answers `PutRule` (and `CreateArchive`/`UpdateArchive`) with `InvalidEventPatternException`
when the pattern is not valid: a leaf that is not an array (`{"detail": {"x": 5}}`), a numeric
filter with a non-number (`[{"numeric": [">=", "a"]}]`), an empty array, and so on. LocalStack
has that validator (`EventPatternCompiler` in `events/event_rule_engine.py`) but runs it only in
`TestEventPattern` and lazily while matching: `RuleService._validate_input` checks only that a
pattern or a schedule is present. So a bad rule was accepted, and each event put to its bus then
raised inside the matching thread, which also stopped the rules after it from seeing the event.
"""

from __future__ import annotations

from localstack.aws.api import RequestContext, handler
from localstack.aws.api.events import (
    ArchiveDescription,
    ArchiveName,
    EventBusArn,
    EventBusNameOrArn,
    EventPattern,
    KmsKeyIdentifier,
    PutRuleResponse,
    RetentionDays,
    RoleArn,
    RuleDescription,
    RuleName,
    RuleState,
    ScheduleExpression,
    TagList,
)
from localstack.services.events.event_rule_engine import EventPatternCompiler


def check_event_pattern(event_pattern: EventPattern | None) -> None:
    """Raises InvalidEventPatternException (AWS's error, HTTP 400) for a pattern AWS rejects."""
    if event_pattern:
        EventPatternCompiler().compile_event_pattern(event_pattern)


class PatternValidation:
    """Provider mixin: PutRule and CreateArchive validate the event pattern (UpdateArchive:
    archive_replay.py)."""

    @handler("PutRule")
    def put_rule(
        self,
        context: RequestContext,
        name: RuleName,
        schedule_expression: ScheduleExpression = None,
        event_pattern: EventPattern = None,
        state: RuleState = None,
        description: RuleDescription = None,
        role_arn: RoleArn = None,
        tags: TagList = None,
        event_bus_name: EventBusNameOrArn = None,
        **kwargs,
    ) -> PutRuleResponse:
        check_event_pattern(event_pattern)
        return super().put_rule(
            context, name, schedule_expression, event_pattern, state, description, role_arn, tags,
            event_bus_name, **kwargs,
        )

    @handler("CreateArchive")
    def create_archive(
        self,
        context: RequestContext,
        archive_name: ArchiveName,
        event_source_arn: EventBusArn,
        description: ArchiveDescription = None,
        event_pattern: EventPattern = None,
        retention_days: RetentionDays = None,
        kms_key_identifier: KmsKeyIdentifier = None,
        **kwargs,
    ):
        check_event_pattern(event_pattern)
        return super().create_archive(
            context, archive_name, event_source_arn, description, event_pattern, retention_days,
            kms_key_identifier, **kwargs,
        )

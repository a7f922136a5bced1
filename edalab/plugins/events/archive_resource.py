"""`AWS::Events::Archive` deployed for real through CloudFormation.

AWS: the resource creates an EventBridge archive of `SourceArn` (a bus) with optional
`ArchiveName` (generated when absent), `Description`, `EventPattern` (an object or a JSON
string), `RetentionDays` and `KmsKeyIdentifier`; `Ref` is the archive name, `Fn::GetAtt Arn`
its ARN; changing `ArchiveName` or `SourceArn` replaces it, the rest updates it in place.
LocalStack has no provider for this type, so its CloudFormation engine reported
CREATE_COMPLETE with physical id `unknown` and created nothing. Shaped like LocalStack's own
`events/resource_providers/aws_events_rule*.py`.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TypedDict

import localstack.services.cloudformation.provider_utils as util
from localstack.services.cloudformation.resource_provider import (
    CloudFormationResourceProviderPlugin,
    OperationStatus,
    ProgressEvent,
    ResourceProvider,
    ResourceRequest,
)

from edalab.plugins import uses_stock

ARCHIVE_NAME_LIMIT = 48  # AWS: 1-48 characters of [.-_A-Za-z0-9]


class EventsArchiveProperties(TypedDict, total=False):
    ArchiveName: str
    SourceArn: str
    Description: str
    EventPattern: dict | str
    RetentionDays: int
    KmsKeyIdentifier: str
    Arn: str


def generated_archive_name(stack_name: str, logical_id: str) -> str:
    """`<stack>-<logical id>-<random>` cut to AWS's 48 characters, as CloudFormation names things."""
    suffix = uuid.uuid4().hex[:8]
    head = f"{stack_name}-{logical_id}"[: ARCHIVE_NAME_LIMIT - len(suffix) - 1]
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in f"{head}-{suffix}")


def _pattern_text(pattern: dict | str | None) -> str | None:
    if pattern is None or isinstance(pattern, str):
        return pattern
    return json.dumps(pattern)


def _archive_parameters(model: EventsArchiveProperties) -> dict:
    parameters = {
        "Description": model.get("Description"),
        "EventPattern": _pattern_text(model.get("EventPattern")),
        "RetentionDays": int(model["RetentionDays"]) if model.get("RetentionDays") is not None else None,
        "KmsKeyIdentifier": model.get("KmsKeyIdentifier"),
    }
    return {key: value for key, value in parameters.items() if value is not None}


class EventsArchiveProvider(ResourceProvider[EventsArchiveProperties]):
    TYPE = "AWS::Events::Archive"
    SCHEMA = util.get_schema_path(Path(__file__))

    def create(self, request: ResourceRequest[EventsArchiveProperties]) -> ProgressEvent[EventsArchiveProperties]:
        model = request.desired_state
        events = request.aws_client_factory.events
        if not model.get("ArchiveName"):
            model["ArchiveName"] = generated_archive_name(request.stack_name, request.logical_resource_id)
        response = events.create_archive(
            ArchiveName=model["ArchiveName"], EventSourceArn=model["SourceArn"], **_archive_parameters(model)
        )
        model["Arn"] = response["ArchiveArn"]
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model,
                             custom_context=request.custom_context)

    def read(self, request: ResourceRequest[EventsArchiveProperties]) -> ProgressEvent[EventsArchiveProperties]:
        model = request.desired_state
        described = request.aws_client_factory.events.describe_archive(ArchiveName=model["ArchiveName"])
        found = EventsArchiveProperties(
            ArchiveName=described["ArchiveName"], SourceArn=described["EventSourceArn"], Arn=described["ArchiveArn"]
        )
        for key in ("Description", "RetentionDays"):
            if key in described:
                found[key] = described[key]
        if "EventPattern" in described:
            found["EventPattern"] = json.loads(described["EventPattern"])
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=found)

    def update(self, request: ResourceRequest[EventsArchiveProperties]) -> ProgressEvent[EventsArchiveProperties]:
        model = request.desired_state
        previous = request.previous_state or {}
        model["ArchiveName"] = model.get("ArchiveName") or previous.get("ArchiveName")
        events = request.aws_client_factory.events
        response = events.update_archive(ArchiveName=model["ArchiveName"], **_archive_parameters(model))
        model["Arn"] = response["ArchiveArn"]
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model,
                             custom_context=request.custom_context)

    def delete(self, request: ResourceRequest[EventsArchiveProperties]) -> ProgressEvent[EventsArchiveProperties]:
        model = request.desired_state
        events = request.aws_client_factory.events
        try:
            events.delete_archive(ArchiveName=model["ArchiveName"])
        except events.exceptions.ResourceNotFoundException:
            pass  # already gone: deleting succeeds, as CloudFormation does
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model,
                             custom_context=request.custom_context)


class EventsArchiveProviderPlugin(CloudFormationResourceProviderPlugin):
    name = "AWS::Events::Archive"

    def __init__(self):
        self.factory: type[ResourceProvider] | None = None

    def should_load(self) -> bool:
        """EDALAB_STOCK_SERVICES=events: LocalStack's own (missing) support for the type."""
        return not uses_stock("events")

    def load(self):
        self.factory = EventsArchiveProvider

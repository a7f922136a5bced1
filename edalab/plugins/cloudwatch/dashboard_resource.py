"""`AWS::CloudWatch::Dashboard` for CloudFormation: the dashboard is really put.

Why this exists: LocalStack has no resource provider for this type, so a stack with a dashboard
reports CREATE_COMPLETE through its unsupported-type fallback, with physical id `unknown`, and no
dashboard exists. This provider follows LocalStack's own pattern (a ResourceProvider with
create/read/update/delete, and a plugin whose `load()` sets the factory) and calls PutDashboard,
so the body is validated as AWS does (a bad body fails the stack with AWS's reason).
Ref returns the dashboard's name, as on AWS; the type has no GetAtt attributes. With
EDALAB_STOCK_SERVICES=cloudwatch the plugin does not load, so the stock behaviour can be shown.
"""

from __future__ import annotations

from typing import TypedDict

import localstack.services.cloudformation.provider_utils as util
from localstack.services.cloudformation.resource_provider import (
    CloudFormationResourceProviderPlugin,
    OperationStatus,
    ProgressEvent,
    ResourceProvider,
    ResourceRequest,
)

# The part of AWS's registry schema the CloudFormation engine reads (identifiers, create-only).
DASHBOARD_SCHEMA = {
    "typeName": "AWS::CloudWatch::Dashboard",
    "properties": {"DashboardName": {"type": "string"}, "DashboardBody": {"type": "string"}},
    "required": ["DashboardBody"],
    "createOnlyProperties": ["/properties/DashboardName"],
    "primaryIdentifier": ["/properties/DashboardName"],
    "readOnlyProperties": [],
    "additionalProperties": False,
}


class CloudWatchDashboardProperties(TypedDict):
    DashboardBody: str | None
    DashboardName: str | None


class CloudWatchDashboardProvider(ResourceProvider[CloudWatchDashboardProperties]):
    TYPE = "AWS::CloudWatch::Dashboard"
    SCHEMA = DASHBOARD_SCHEMA

    @staticmethod
    def _put(request: ResourceRequest[CloudWatchDashboardProperties], name: str) -> ProgressEvent:
        model = {**request.desired_state, "DashboardName": name}
        request.aws_client_factory.cloudwatch.put_dashboard(DashboardName=name, DashboardBody=model["DashboardBody"])
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model,
                             custom_context=request.custom_context)

    def create(self, request: ResourceRequest[CloudWatchDashboardProperties]) -> ProgressEvent:
        name = request.desired_state.get("DashboardName") or util.generate_default_name(
            stack_name=request.stack_name, logical_resource_id=request.logical_resource_id)
        return self._put(request, name)

    def read(self, request: ResourceRequest[CloudWatchDashboardProperties]) -> ProgressEvent:
        model = request.desired_state
        dashboard = request.aws_client_factory.cloudwatch.get_dashboard(DashboardName=model["DashboardName"])
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model={
            "DashboardName": dashboard["DashboardName"], "DashboardBody": dashboard["DashboardBody"]})

    def update(self, request: ResourceRequest[CloudWatchDashboardProperties]) -> ProgressEvent:
        return self._put(request, request.desired_state.get("DashboardName")
                         or request.previous_state["DashboardName"])

    def delete(self, request: ResourceRequest[CloudWatchDashboardProperties]) -> ProgressEvent:
        model = request.desired_state
        request.aws_client_factory.cloudwatch.delete_dashboards(DashboardNames=[model["DashboardName"]])
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model,
                             custom_context=request.custom_context)


class CloudWatchDashboardProviderPlugin(CloudFormationResourceProviderPlugin):
    name = "AWS::CloudWatch::Dashboard"

    def __init__(self):
        self.factory: type[ResourceProvider] | None = None

    def should_load(self) -> bool:
        """With EDALAB_STOCK_SERVICES=cloudwatch the type falls back to LocalStack's stand-in."""
        from edalab.plugins import uses_stock

        return not uses_stock("cloudwatch")

    def load(self):
        self.factory = CloudWatchDashboardProvider

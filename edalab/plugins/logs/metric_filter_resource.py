"""`AWS::Logs::MetricFilter` deployed for real through CloudFormation.

AWS: the resource is a metric filter (PutMetricFilter) on `LogGroupName` with `FilterPattern` and
one `MetricTransformations` entry (`MetricName`, `MetricNamespace`, `MetricValue`, optional
`DefaultValue`, `Unit`, and `Dimensions` as a list of Key/Value); `FilterName` is generated when
absent; `Ref` is the filter name; changing `FilterName` or `LogGroupName` replaces it, the rest
updates it in place. LocalStack has no provider for this type, so its CloudFormation engine
reported CREATE_COMPLETE with physical id `unknown` and created nothing. Shaped like LocalStack's
own `logs/resource_providers/aws_logs_subscriptionfilter*.py`.
"""

from __future__ import annotations

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

FILTER_NAME_LIMIT = 512


class LogsMetricFilterProperties(TypedDict, total=False):
    FilterName: str
    FilterPattern: str
    LogGroupName: str
    MetricTransformations: list[dict]
    ApplyOnTransformedLogs: bool


def generated_filter_name(stack_name: str, logical_id: str) -> str:
    """`<stack>-<logical id>-<random>`, as CloudFormation names a resource left unnamed."""
    return f"{stack_name}-{logical_id}-{uuid.uuid4().hex[:12].upper()}"[-FILTER_NAME_LIMIT:]


def api_transformation(cfn: dict) -> dict:
    """A template's MetricTransformation (PascalCase, Dimensions as Key/Value) as the API takes it."""
    transformation = {"metricName": cfn["MetricName"], "metricNamespace": cfn["MetricNamespace"],
                      "metricValue": str(cfn["MetricValue"])}
    if cfn.get("DefaultValue") is not None:
        transformation["defaultValue"] = float(cfn["DefaultValue"])
    if cfn.get("Unit"):
        transformation["unit"] = cfn["Unit"]
    if cfn.get("Dimensions"):
        transformation["dimensions"] = {each["Key"]: each["Value"] for each in cfn["Dimensions"]}
    return transformation


def _put(request: ResourceRequest[LogsMetricFilterProperties], model: LogsMetricFilterProperties) -> None:
    request.aws_client_factory.logs.put_metric_filter(
        logGroupName=model["LogGroupName"],
        filterName=model["FilterName"],
        filterPattern=model.get("FilterPattern", ""),
        metricTransformations=[api_transformation(each) for each in model["MetricTransformations"]],
    )


class LogsMetricFilterProvider(ResourceProvider[LogsMetricFilterProperties]):
    TYPE = "AWS::Logs::MetricFilter"
    SCHEMA = util.get_schema_path(Path(__file__))

    def create(self, request: ResourceRequest[LogsMetricFilterProperties]) -> ProgressEvent[LogsMetricFilterProperties]:
        model = request.desired_state
        if not model.get("FilterName"):
            model["FilterName"] = generated_filter_name(request.stack_name, request.logical_resource_id)
        _put(request, model)
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model,
                             custom_context=request.custom_context)

    def read(self, request: ResourceRequest[LogsMetricFilterProperties]) -> ProgressEvent[LogsMetricFilterProperties]:
        model = request.desired_state
        described = request.aws_client_factory.logs.describe_metric_filters(
            logGroupName=model["LogGroupName"], filterNamePrefix=model["FilterName"])
        found = [each for each in described.get("metricFilters", []) if each["filterName"] == model["FilterName"]]
        if not found:
            return ProgressEvent(status=OperationStatus.FAILED, error_code="NotFound",
                                 message=f"metric filter {model['FilterName']} not found")
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model)

    def update(self, request: ResourceRequest[LogsMetricFilterProperties]) -> ProgressEvent[LogsMetricFilterProperties]:
        model = request.desired_state
        previous = request.previous_state or {}
        model["FilterName"] = model.get("FilterName") or previous.get("FilterName")
        _put(request, model)  # PutMetricFilter with the same name replaces the filter, as on AWS
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model,
                             custom_context=request.custom_context)

    def delete(self, request: ResourceRequest[LogsMetricFilterProperties]) -> ProgressEvent[LogsMetricFilterProperties]:
        model = request.desired_state
        logs = request.aws_client_factory.logs
        try:
            logs.delete_metric_filter(logGroupName=model["LogGroupName"], filterName=model["FilterName"])
        except logs.exceptions.ResourceNotFoundException:
            pass  # already gone (its log group deleted first): deleting succeeds, as CloudFormation does
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model,
                             custom_context=request.custom_context)


class LogsMetricFilterProviderPlugin(CloudFormationResourceProviderPlugin):
    name = "AWS::Logs::MetricFilter"

    def __init__(self):
        self.factory: type[ResourceProvider] | None = None

    def should_load(self) -> bool:
        """Stands aside with EDALAB_STOCK_SERVICES=logs, so the type is unsupported as in stock LocalStack."""
        return not uses_stock("logs")

    def load(self):
        self.factory = LogsMetricFilterProvider

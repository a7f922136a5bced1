"""`AWS::CloudWatch::Alarm` and `AWS::CloudWatch::CompositeAlarm` updates really change the alarm.

Why this exists: LocalStack's resource providers for both types (localstack/services/cloudwatch/
resource_providers/) raise NotImplementedError in `update`, and its CloudFormation engine takes
that as "nothing to do": the stack reports UPDATE_COMPLETE while the alarm keeps its old
threshold, description or actions. A learner who edits an alarm in a lab's template and runs
`make deploy` saw no change and no error. On AWS an update puts the alarm again (PutMetricAlarm /
PutCompositeAlarm replace its whole definition; the name is create-only, so a new name is a
replacement, which CloudFormation does through `create`). Our `update` does exactly that: it
keeps the alarm's name from the previous state and runs the provider's own `create`, which
puts the alarm and reads back its ARN. The patch is applied when LocalStack first imports the
provider module (on_import.py); with EDALAB_STOCK_SERVICES=cloudwatch it is not applied.
"""

from __future__ import annotations

import logging

from localstack.runtime import hooks

from edalab.plugins import uses_stock
from edalab.plugins.on_import import when_imported

LOG = logging.getLogger(__name__)

PROVIDERS = {
    "localstack.services.cloudwatch.resource_providers.aws_cloudwatch_alarm": "CloudWatchAlarmProvider",
    "localstack.services.cloudwatch.resource_providers.aws_cloudwatch_compositealarm": "CloudWatchCompositeAlarmProvider",
}


def update_by_putting_again(provider, request):
    """Puts the alarm again with the template's new properties, under the name it already has."""
    if not request.desired_state.get("AlarmName"):
        request.desired_state["AlarmName"] = request.previous_state.get("AlarmName")
    return provider.create(request)


def _patch(class_name: str):
    def patch(module) -> None:
        getattr(module, class_name).update = update_by_putting_again

    return patch


@hooks.on_infra_start()
def update_alarms_in_place():
    if uses_stock("cloudwatch"):
        return
    for module, class_name in PROVIDERS.items():
        when_imported(module, _patch(class_name))
    LOG.info("edalab: CloudFormation updates of alarms and composite alarms put them again")

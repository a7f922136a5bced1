"""The CloudWatch provider `edalab`: LocalStack's CloudWatch (v2) with AWS's documented behaviour.

Selected with PROVIDER_OVERRIDE_CLOUDWATCH=edalab (host engine settings). Each behaviour lives in
its own mixin module, so this one only composes them:
- `metric_queries.MetricQueries`: exact dimension matching in GetMetricStatistics,
  GetMetricData and ListMetrics, and metric math in GetMetricData;
- `alarms.Alarms`: alarm evaluation on AWS's cadence, composite alarms, state-change events;
- `dashboards.Dashboards`: dashboard bodies validated, AWS's errors and sizes.
Operations no mixin defines fall through to LocalStack's provider.
"""

from __future__ import annotations

from localstack.services.cloudwatch.provider_v2 import CloudwatchProvider

from edalab.plugins.cloudwatch.alarms import Alarms
from edalab.plugins.cloudwatch.dashboards import Dashboards
from edalab.plugins.cloudwatch.metric_queries import MetricQueries


class EdaLabCloudwatchProvider(Alarms, Dashboards, MetricQueries, CloudwatchProvider):
    """LocalStack's CloudWatch provider with the mixins' operations in front of it."""

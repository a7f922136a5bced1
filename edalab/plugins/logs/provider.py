"""The Logs provider `edalab`: LocalStack's Logs provider with AWS's documented behaviour added.

Selected with PROVIDER_OVERRIDE_LOGS=edalab (host engine settings). Each behaviour lives in
its own mixin module, so this one only composes them:
- `pattern_filtering.PatternFiltering`: filter patterns in FilterLogEvents, metric filters and
  subscription filters;
- `insights_queries.InsightsQueries`: StartQuery / GetQueryResults / StopQuery;
- `embedded_metrics.EmbeddedMetrics`: Embedded Metric Format lines become CloudWatch metrics.
Operations no mixin defines fall through to LocalStack's provider, then to moto.
"""

from __future__ import annotations

from localstack.services.logs.provider import LogsProvider

from edalab.plugins.logs.embedded_metrics import EmbeddedMetrics
from edalab.plugins.logs.insights_queries import InsightsQueries
from edalab.plugins.logs.pattern_filtering import PatternFiltering


class EdaLabLogsProvider(PatternFiltering, InsightsQueries, EmbeddedMetrics, LogsProvider):
    """LocalStack's Logs provider with the mixins' operations in front of it."""

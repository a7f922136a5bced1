"""Mixin of the CloudWatch provider: alarm evaluation, composite alarms, state-change events, dashboards (issue #13; being written)."""


class Alarms:
    """Operations this mixin answers before LocalStack's CloudWatch provider does."""

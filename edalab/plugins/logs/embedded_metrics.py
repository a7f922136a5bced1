"""Mixin of the Logs provider: Embedded Metric Format lines in log events become CloudWatch metrics (issue #13; being written)."""


class EmbeddedMetrics:
    """Operations this mixin answers before LocalStack's Logs provider does."""

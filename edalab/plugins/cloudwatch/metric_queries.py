"""Mixin of the CloudWatch provider: exact dimension matching and metric math in metric queries (issue #13; being written)."""


class MetricQueries:
    """Operations this mixin answers before LocalStack's CloudWatch provider does."""

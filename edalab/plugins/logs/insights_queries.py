"""Mixin of the Logs provider: Logs Insights StartQuery / GetQueryResults / StopQuery (issue #13; being written)."""


class InsightsQueries:
    """Operations this mixin answers before LocalStack's Logs provider does."""

"""Mixin of the Logs provider: filter patterns in FilterLogEvents, metric filters and subscription filters (issue #13; being written)."""


class PatternFiltering:
    """Operations this mixin answers before LocalStack's Logs provider does."""

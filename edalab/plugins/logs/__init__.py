"""CloudWatch Logs: filter patterns, metric filters, subscription filters, Logs Insights and
Embedded Metric Format, as AWS documents them (LocalStack's community provider ignores
patterns and answers Insights queries with `@ptr` only)."""

"""CloudWatch Logs Insights queries (the subset learners use), parsed and run over stored events.

Why this exists: LocalStack hands StartQuery to moto, whose Insights ignores `filter` and returns
only `@ptr` for `stats`, so "which orders failed, and why" cannot be asked locally. This package
holds what `insights_queries.InsightsQueries` needs to answer as AWS does:
- `syntax`: the query plan (commands and expressions) the parser produces;
- `parser`: the query text -> plan, with MalformedQueryException's place of the error;
- `records`: one stored log event -> its fields (`@timestamp`, `@message`, JSON fields as `a.b`);
- `expressions`: plan expressions -> Python functions over a record, and values as AWS prints them;
- `aggregates`: the accumulators of `stats` (count, count_distinct, sum, avg, min, max, pct, ...);
- `executor`: runs a plan over events (filter, fields, parse, stats, sort, limit, display, dedup).
"""

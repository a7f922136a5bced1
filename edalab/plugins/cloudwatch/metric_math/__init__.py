"""Metric math, as GetMetricData and alarms evaluate it on AWS (LocalStack answers 500 to any Expression).

`parser` turns an expression (`100 * errors / invocations`, `IF(m1 > 5 AND m2 < 1, m1)`,
`SUM(METRICS("err"))`, `FILL(m1, REPEAT)`) into a tree; `evaluator` evaluates the tree over the
request's time series, aligned by timestamp. Both are hand-written: metric math is a small
language of its own (identifiers that name queries, REPEAT/LINEAR keywords, arrays in brackets,
functions over whole time series), which general expression libraries (simpleeval, asteval,
numexpr, pyparsing grammars of Python) either parse differently (`^` is power here, `AND`/`OR`/`NOT`
are words, `==`) or evaluate value by value rather than series by series.
"""

from edalab.plugins.cloudwatch.metric_math.evaluator import evaluate_queries
from edalab.plugins.cloudwatch.metric_math.parser import parse
from edalab.plugins.cloudwatch.metric_math.series import MathError, MetricSeries

__all__ = ["MathError", "MetricSeries", "evaluate_queries", "parse"]

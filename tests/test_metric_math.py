"""Metric math as AWS's "Metric math syntax and functions" describes it, evaluated without an engine
(edalab.plugins.cloudwatch.metric_math), and the statistics of one period (metric_data.Samples).

https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
"""

from __future__ import annotations

import pytest

from edalab.plugins.cloudwatch.metric_data import Samples, dimension_key, dimensions_from_key
from edalab.plugins.cloudwatch.metric_math import MathError, MetricSeries, evaluate_queries, parse
from edalab.plugins.cloudwatch.metric_math.series import DROPPED_POINTS

START, END = 0, 300  # five one-minute periods: 0, 60, 120, 180, 240


def series(points: dict[int, float], label: str = "m") -> MetricSeries:
    return MetricSeries(dict(points), 60, label)


def run(expression: str, label: str | None = None, **metrics: dict[int, float]) -> list[MetricSeries]:
    """The series the expression `e` gives over the named metrics."""
    queries = [{"Id": name, "MetricStat": {}} for name in metrics]
    queries.append({"Id": "e", "Expression": expression, **({"Label": label} if label else {})})
    known = {name: series(points, name.capitalize()) for name, points in metrics.items()}
    return evaluate_queries(queries, known, START, END)["e"]


def points(expression: str, **metrics) -> dict[int, float]:
    [result] = run(expression, **metrics)
    return result.points


def test_the_error_rate_example_divides_per_timestamp_and_drops_division_by_zero():
    errors = {0: 1.0, 60: 0.0, 120: 3.0}
    invocations = {0: 10.0, 60: 0.0, 120: 4.0}
    [rate] = run("100 * errors / invocations", errors=errors, invocations=invocations)
    assert rate.points == {0: 10.0, 120: 75.0}  # 0/0 at 60 gives no point
    assert rate.messages == [DROPPED_POINTS]
    assert rate.label == "e"


def test_operators_follow_precedence_unary_minus_and_power():
    assert points("2 + 3 * m1 ^ 2 - -1", m1={0: 2.0}) == {0: 15.0}
    assert points("(2 + 3) * m1", m1={0: 2.0}) == {0: 10.0}
    assert points("-m1 ^ 2", m1={0: 3.0}) == {0: -9.0}
    assert points("m1 / 4 - 1", m1={0: 2.0}) == {0: -0.5}


def test_two_series_are_aligned_by_timestamp():
    assert points("a + b", a={0: 1.0, 60: 2.0}, b={60: 10.0, 120: 20.0}) == {60: 12.0}


def test_aggregates_of_an_array_give_a_series_and_of_one_series_a_scalar():
    metrics = {"m1": {0: 1.0, 60: 5.0}, "m2": {0: 3.0}}
    assert points("SUM(METRICS())", **metrics) == {0: 4.0, 60: 5.0}
    assert points("AVG([m1, m2])", **metrics) == {0: 2.0, 60: 5.0}
    assert points("MIN(METRICS())", **metrics) == {0: 1.0, 60: 5.0}
    assert points("MAX(METRICS())", **metrics) == {0: 3.0, 60: 5.0}
    # a scalar holds at every period of the range
    assert points("MAX(m1)", **metrics) == dict.fromkeys(range(0, 300, 60), 5.0)
    assert points("m1 - AVG(m1)", **metrics) == {0: -2.0, 60: 2.0}


def test_metrics_with_a_string_keeps_the_metrics_whose_id_holds_it():
    metrics = {"errors_a": {0: 1.0}, "errors_b": {0: 2.0}, "calls": {0: 100.0}}
    assert points('SUM(METRICS("errors"))', **metrics) == {0: 3.0}


def test_an_array_expression_gives_one_result_per_series_labelled_after_the_metric():
    results = run("METRICS() * 2", label="Doubled", m1={0: 1.0}, m2={0: 2.0})
    assert [(r.label, r.points) for r in results] == [("Doubled M1", {0: 2.0}), ("Doubled M2", {0: 4.0})]


def test_if_with_comparisons_and_logical_operators():
    metrics = {"m1": {0: 1.0, 60: 7.0, 120: 9.0}, "m2": {0: 0.0, 60: 0.0, 120: 5.0}}
    assert points("IF(m1 > 5 AND m2 == 0, m1, 0)", **metrics) == {0: 0.0, 60: 7.0, 120: 0.0}
    assert points("IF(m1 < 5 || NOT m2, 1)", **metrics) == {0: 1.0, 60: 1.0}  # no false value: no point
    assert points("IF(m1 != 7 && m2 >= 0, m2)", **metrics) == {0: 0.0, 120: 5.0}
    assert points("(m1 <= 7) + (m1 >= 9)", **metrics) == {0: 1.0, 60: 1.0, 120: 1.0}


def test_fill_fills_every_period_of_the_range():
    gappy = {"m1": {60: 2.0, 180: 6.0}}
    assert points("FILL(m1, 0)", **gappy) == {0: 0.0, 60: 2.0, 120: 0.0, 180: 6.0, 240: 0.0}
    assert points("FILL(m1, REPEAT)", **gappy) == {0: 2.0, 60: 2.0, 120: 2.0, 180: 6.0, 240: 6.0}
    assert points("FILL(m1, LINEAR)", **gappy) == {0: 2.0, 60: 2.0, 120: 4.0, 180: 6.0, 240: 6.0}
    assert points("FILL(m1, m2)", **gappy, m2={0: 9.0}) == {0: 9.0, 60: 2.0, 180: 6.0}
    assert points("FILL(m1, 0) + 1", m1={}) == dict.fromkeys(range(0, 300, 60), 1.0)


def test_rate_diff_and_elementwise_functions():
    metric = {"m1": {0: 10.0, 60: 4.0, 180: 10.0}}
    assert points("DIFF(m1)", **metric) == {60: -6.0, 180: 6.0}
    assert points("RATE(m1)", **metric) == {60: -0.1, 180: 6.0 / 120}
    assert points("ABS(DIFF(m1))", **metric) == {60: 6.0, 180: 6.0}
    assert points("CEIL(m1 / 4)", **metric) == {0: 3.0, 60: 1.0, 180: 3.0}
    assert points("FLOOR(m1 / 4)", **metric) == {0: 2.0, 60: 1.0, 180: 2.0}
    assert points("m1 / PERIOD(m1)", m1={0: 120.0}) == {0: 2.0}


def test_an_expression_may_use_another_and_return_data_false_is_only_hidden_by_the_caller():
    queries = [
        {"Id": "m1", "MetricStat": {}},
        {"Id": "e1", "Expression": "m1 * 2", "ReturnData": False},
        {"Id": "e2", "Expression": "e1 + 1"},
    ]
    evaluated = evaluate_queries(queries, {"m1": series({0: 4.0})}, START, END)
    assert evaluated["e2"][0].points == {0: 9.0}


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("m1 +", "ends where a value was expected"),
        ("m1 * (2", "Expected ')'"),
        ("m1 $ 2", "Unexpected character '$'"),
        ("nope * 2", "Unrecognized identifier nope"),
        ("FOO(m1)", "Unknown function FOO"),
        ("SUM", "SUM is a function"),
        ("FILL(m1)", "FILL takes 2 argument(s), not 1"),
        ("METRICS() + METRICS()", "cannot combine two arrays"),
        ("e", "Circular reference between expressions: e -> e"),
        ('"text"', "not a string"),
        ("REPEAT", "second argument of FILL"),
    ],
)
def test_a_bad_expression_says_what_is_wrong(expression, complaint):
    with pytest.raises(MathError, match="Error in expression e: .*" + __import__("re").escape(complaint)):
        run(expression, m1={0: 1.0})


def test_the_parser_reads_words_and_symbols_as_the_same_operators():
    assert parse("a AND b OR NOT c") == parse("a && b || !c")


def test_statistics_of_one_period_with_values_and_statistic_sets():
    samples = Samples(values=[float(v) for v in range(1, 101)])
    assert (samples.statistic("p95"), samples.statistic("p99"), samples.statistic("p50")) == (95.0, 99.0, 50.0)
    assert samples.statistic("p100") == 100.0 and samples.statistic("p0") == 1.0
    samples.sets.append((4.0, 1000.0, 100.0, 400.0))  # 4 samples summing 1000, between 100 and 400
    assert samples.statistic("SampleCount") == 104.0
    assert samples.statistic("Sum") == 5050.0 + 1000.0
    assert samples.statistic("Average") == pytest.approx(6050.0 / 104)
    assert (samples.statistic("Minimum"), samples.statistic("Maximum")) == (1.0, 400.0)
    assert samples.statistic("p95") is None  # AWS has no percentile for a set of unequal values
    assert Samples(sets=[(3.0, 15.0, 5.0, 5.0)]).statistic("p90") == 5.0  # equal values: it has


def test_a_dimension_set_is_stored_sorted_and_read_back_whole():
    key = dimension_key([{"Name": "QueueName", "Value": "a=b"}, {"Name": "Env", "Value": "prod"}])
    assert key == "Env=prod\tQueueName=a=b\t"
    assert dimensions_from_key(key) == [{"Name": "Env", "Value": "prod"}, {"Name": "QueueName", "Value": "a=b"}]
    assert dimension_key([]) is None and dimensions_from_key(None) == []

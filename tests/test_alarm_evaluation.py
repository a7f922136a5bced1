"""Alarm evaluation as AWS documents it, with no engine: the decision of a metric alarm
(TreatMissingData, M of N), the cadence, the composite alarm rule language, the dashboard body.

The TreatMissingData corpus is the table of the CloudWatch user guide, "Configuring how CloudWatch
alarms treat missing data" (alarm with 3 evaluation periods, 3 datapoints to alarm, an evaluation
range of 5; `0` not breaching, `X` breaching, `-` missing, oldest first)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from edalab.plugins.cloudwatch.alarm_evaluation import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    Datapoint,
    alarm_queries,
    decide,
    evaluation_interval,
    evaluation_range,
    period_slots,
    place_in_slots,
)
from edalab.plugins.cloudwatch.alarm_schedule import AlarmSchedule, next_boundary
from edalab.plugins.cloudwatch.composite_rule import RuleError, parse_rule, referenced_alarms, rule_holds
from edalab.plugins.cloudwatch.dashboard_body import body_problems
from edalab.waiting import wait_for

KEEP = None  # "Retain current state"


def _points(pattern: str) -> list[Datapoint]:
    values = {"0": 0.0, "X": 10.0, "-": None}
    return [Datapoint(datetime.fromtimestamp(60 * index, UTC), values[mark])
            for index, mark in enumerate(pattern.split())]


def _decide(pattern: str, treat: str, n: int = 3, m: int | None = 3, state: str = OK):
    return decide(_points(pattern), threshold=5, comparison="GreaterThanThreshold", evaluation_periods=n,
                  datapoints_to_alarm=m, treat_missing_data=treat, current_state=state)


USER_GUIDE_TABLE = [
    # data points   MISSING            IGNORE  BREACHING  NOT BREACHING
    ("0 - X - X", (OK, OK, OK, OK)),
    ("0 - - - -", (OK, OK, OK, OK)),
    ("- - - - -", (INSUFFICIENT_DATA, KEEP, ALARM, OK)),
    ("0 X X - X", (ALARM, ALARM, ALARM, ALARM)),
    ("- - X - -", (ALARM, KEEP, ALARM, OK)),
]


@pytest.mark.parametrize("pattern,expected", USER_GUIDE_TABLE)
def test_the_user_guides_missing_data_table(pattern, expected):
    for treat, state in zip(("missing", "ignore", "breaching", "notBreaching"), expected, strict=True):
        assert _decide(pattern, treat).state == state, f"{pattern} with {treat}"


def test_the_default_is_missing():
    assert _decide("- - - - -", None).state == INSUFFICIENT_DATA


def test_m_of_n_needs_m_breaching_points_among_the_last_n():
    assert _decide("0 0 X 0 X", "missing", n=3, m=2).state == ALARM
    assert _decide("X X 0 0 X", "missing", n=3, m=2).state == OK  # older breaches are out of the window
    assert _decide("0 0 0 X 0", "missing", n=3, m=2).state == OK


def test_an_m_of_n_reason_lists_the_points_on_the_side_of_the_new_state():
    fired = _decide("0 0 X 0 X", "missing", n=3, m=2)
    assert fired.reason == ("Threshold Crossed: 2 out of the last 3 datapoints [10.0 (01/01/70 00:02:00), "
                            "10.0 (01/01/70 00:04:00)] were greater than the threshold (5.0) (minimum 2 "
                            "datapoints for OK -> ALARM transition).")
    calm = _decide("X X 0 0 X", "missing", n=3, m=2)
    assert calm.reason.startswith("Threshold Crossed: 2 out of the last 3 datapoints [0.0 (01/01/70 00:02:00), "
                                  "0.0 (01/01/70 00:03:00)] were not greater than")


def test_enough_real_points_decide_whatever_treat_missing_data_says():
    """With at least N real points in the range, missing data is not needed and is ignored."""
    for treat in ("missing", "ignore", "breaching", "notBreaching"):
        assert _decide("X - X - X", treat).state == ALARM
        assert _decide("X - 0 - X", treat).state == OK


def test_missing_points_are_filled_as_few_times_as_possible():
    assert _decide("- - - X X", "breaching").state == ALARM  # 2 real + 1 filled
    assert _decide("- - - 0 X", "breaching").state == OK  # 1 + 1 filled < 3
    assert _decide("- - - X X", "notBreaching").state == OK


def test_ignore_keeps_the_state_only_when_the_real_points_cannot_decide():
    assert _decide("- - - X X", "ignore", state=OK).state is KEEP
    assert _decide("- - - 0 X", "ignore", state=ALARM).state == OK  # never 3 of 3 now


def test_one_period_alarms_as_the_labs_use_them():
    assert _decide("- - 0", "notBreaching", n=1, m=None).state == OK
    assert _decide("- - X", "notBreaching", n=1, m=None).state == ALARM
    assert _decide("- - -", "notBreaching", n=1, m=None).state == OK
    assert _decide("- - -", "missing", n=1, m=None).state == INSUFFICIENT_DATA


def test_comparison_operators_and_reasons():
    points = [Datapoint(datetime(2026, 11, 24, 1, 40, tzinfo=UTC), 5.0)]
    kinds = {"GreaterThanOrEqualToThreshold": ALARM, "GreaterThanThreshold": OK,
             "LessThanThreshold": OK, "LessThanOrEqualToThreshold": ALARM}
    for comparison, state in kinds.items():
        decision = decide(points, threshold=5, comparison=comparison, evaluation_periods=1)
        assert decision.state == state, comparison
    reason = decide(points, threshold=4, comparison="GreaterThanThreshold", evaluation_periods=1).reason
    assert reason == ("Threshold Crossed: 1 datapoint [5.0 (24/11/26 01:40:00)] was greater than the "
                      "threshold (4.0).")


def test_cadence_and_range():
    assert evaluation_interval(10) == 10 and evaluation_interval(30) == 30
    assert evaluation_interval(60) == 60 and evaluation_interval(300) == 60  # every minute, not 5
    assert evaluation_range(3) == 5 and evaluation_range(1) == 3
    assert next_boundary(125.0, 10) == 130.0 and next_boundary(130.0, 10) == 140.0


def test_an_alarm_reads_its_metric_as_one_query():
    single = {"Namespace": "AWS/Lambda", "MetricName": "Duration", "ExtendedStatistic": "p95", "Period": 60,
              "Dimensions": [{"Name": "FunctionName", "Value": "pay"}]}
    period, [query], returned = alarm_queries(single)
    assert (period, returned, query["MetricStat"]["Stat"]) == (60, "m1", "p95")
    assert query["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "FunctionName", "Value": "pay"}]
    math = {"Metrics": [
        {"Id": "rate", "Expression": "100 * e / i", "ReturnData": True},
        {"Id": "e", "ReturnData": False, "MetricStat": {"Metric": {}, "Period": 10, "Stat": "Sum"}},
        {"Id": "i", "ReturnData": False, "MetricStat": {"Metric": {}, "Period": 10, "Stat": "Sum"}}]}
    period, queries, returned = alarm_queries(math)
    assert (period, returned, len(queries)) == (10, "rate", 3)


def test_values_land_in_their_periods():
    slots = period_slots(1000, 10, 3)
    assert slots == [(970, 980), (980, 990), (990, 1000)]
    stamps = [datetime.fromtimestamp(t, UTC) for t in (990, 970)]
    assert place_in_slots(stamps, [2.0, 1.0], 970, 10, 3) == [1.0, None, 2.0]


def test_the_schedule_evaluates_on_the_cadence_and_stops_for_a_deleted_alarm():
    """A 10 s period alarm is evaluated at once and then every period, not Period x EvaluationPeriods;
    deleting it or stopping the schedule leaves nothing running."""
    now = [1000.0]
    seen: list[tuple[str, float]] = []
    lock = threading.Lock()

    def evaluate(arn, boundary):
        with lock:
            seen.append((arn, boundary))

    schedule = AlarmSchedule(evaluate, lambda arn: 10, clock=lambda: now[0])
    schedule.start()
    try:
        schedule.schedule_metric_alarm("a")
        wait_for(lambda: len(seen), what="the first evaluation", timeout=5, interval=0.01, until=lambda n: n >= 1)
        for count, moment in enumerate((1001.0, 1011.0, 1021.0), start=2):  # 1 s after each boundary
            now[0] = moment
            with schedule._condition:
                schedule._condition.notify_all()
            wait_for(lambda: len(seen), what=f"evaluation {count}", timeout=5, interval=0.01,
                     until=lambda n, c=count: n >= c)
        assert [boundary for _, boundary in seen] == [990.0, 1000.0, 1010.0, 1020.0]
        schedule.delete_scheduler_for_alarm("a")
        assert schedule.scheduled() == set()
    finally:
        schedule.shutdown()
    assert not schedule.running()


COMPOSITE_STATES = {"a": ALARM, "b": OK, "c": INSUFFICIENT_DATA,
                    "arn:aws:cloudwatch:us-east-1:000000000000:alarm:d": ALARM}


@pytest.mark.parametrize("rule,holds", [
    ('ALARM("a") AND ALARM("b")', False),  # LocalStack treats AND as OR
    ('ALARM("a") OR ALARM("b")', True),
    ("ALARM(a) AND OK(b)", True),  # quotes are optional
    ("ALARM(a) AND NOT ALARM(b)", True),
    ("NOT (ALARM(a) OR ALARM(b))", False),
    ("INSUFFICIENT_DATA(c) AND (ALARM(b) OR ALARM(a))", True),
    ("ALARM(b) OR ALARM(a) AND OK(b)", True),  # AND binds tighter than OR
    ("(ALARM(b) OR ALARM(a)) AND ALARM(b)", False),
    ('ALARM("arn:aws:cloudwatch:us-east-1:000000000000:alarm:d")', True),
    ("TRUE", True), ("FALSE", False), ("NOT TRUE OR FALSE", False),
])
def test_composite_rules(rule, holds):
    assert rule_holds(parse_rule(rule), COMPOSITE_STATES.get) is holds


@pytest.mark.parametrize("rule", ["", "ALARM(a) AND", "ALARM()", "ALARM(a", "MAYBE(a)", "ALARM(a) ALARM(b)"])
def test_bad_composite_rules_are_refused(rule):
    with pytest.raises(RuleError):
        parse_rule(rule)


def test_a_rule_names_its_children():
    assert referenced_alarms(parse_rule('ALARM("x") OR (OK(y) AND NOT INSUFFICIENT_DATA(z))')) == {"x", "y", "z"}


def test_dashboard_bodies_are_checked_as_put_dashboard_does():
    good = '{"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 3, "properties": {"markdown": "hi"}}]}'
    assert body_problems(good) == []
    assert body_problems('{"widgets": []}') == []
    assert body_problems("not json")[0]["Message"].startswith("Invalid JSON")
    assert body_problems("{}") == [{"DataPath": "", "Message": "Should have required property 'widgets'"}]
    assert body_problems('{"widgets": [{"type": "chart", "properties": {}}]}')[0]["DataPath"] == "/widgets/0/type"
    assert body_problems('{"widgets": [{"type": "text", "width": 30, "properties": {"markdown": ""}}]}') == [
        {"DataPath": "/widgets/0/width", "Message": "Should be <= 24"}]

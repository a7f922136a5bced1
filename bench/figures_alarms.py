"""Benchmark figure of CloudWatch alarms (issue #13, item 5): how long a 10 s alarm takes from its
first breaching data point to ALARM. AWS evaluates such an alarm every period, so the wait is at
most about one period (10 s) plus ingestion; LocalStack's stock scheduler looked every
Period × EvaluationPeriods (30 s for the 3 periods used here, 0-30 s to wait).

Baseline, measured in the same run: SetAlarmState to ALARM on a twin alarm, then the same
describe loop: the floor of the measuring loop itself (no evaluation wait).

Call: `figures_alarms.alarm_reaction(endpoint, runs=5)` on an engine of the bench's own
(each run waits up to one period; 5 runs take about a minute).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from figures import Figure

from edalab import aws
from edalab.waiting import wait_for

PERIOD = 10


def _state(cloudwatch, name: str) -> str:
    return cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]


def _until_state(cloudwatch, name: str, state: str, timeout: float) -> float:
    started = time.perf_counter()
    wait_for(lambda: _state(cloudwatch, name), what=f"{name} in {state}", timeout=timeout, interval=0.05,
             until=lambda seen: seen == state)
    return (time.perf_counter() - started) * 1000


def alarm_reaction(endpoint: str, runs: int) -> Figure:
    cloudwatch = aws.client("cloudwatch", endpoint)
    namespace = f"EdaLab/BenchAlarms{uuid.uuid4().hex[:8]}"
    engine, floor, names = [], [], []
    try:
        for run in range(runs):
            name, twin = f"bench-alarm-{run}-{uuid.uuid4().hex[:6]}", f"bench-twin-{run}-{uuid.uuid4().hex[:6]}"
            names += [name, twin]
            for alarm in (name, twin):
                cloudwatch.put_metric_alarm(
                    AlarmName=alarm, Namespace=namespace, MetricName=f"Errors{run}", Statistic="Sum",
                    Period=PERIOD, EvaluationPeriods=3, DatapointsToAlarm=1, Threshold=0,
                    ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
                _until_state(cloudwatch, alarm, "OK", timeout=3 * PERIOD)
            time.sleep(run * PERIOD / max(runs, 1) % PERIOD)  # spread the puts over the period's phases
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=[{
                "MetricName": f"Errors{run}", "Value": 1, "Timestamp": datetime.now(UTC)}])
            engine.append(_until_state(cloudwatch, name, "ALARM", timeout=4 * PERIOD))
            cloudwatch.set_alarm_state(AlarmName=twin, StateValue="ALARM", StateReason="bench floor")
            floor.append(_until_state(cloudwatch, twin, "ALARM", timeout=PERIOD))
    finally:
        if names:
            cloudwatch.delete_alarms(AlarmNames=names)
    return Figure("10 s alarm: first breaching data point to ALARM", "ms", engine,
                  {"SetAlarmState, same describe loop": floor})

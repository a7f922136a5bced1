"""Applies lab 07's exercise after a deploy: your oldest-message-age alarm, the composite alarm
that needs it, and your dashboard widget.

Why this exists: the exercise is two JSON files the learner writes (an alarm, as
`put-metric-alarm --cli-input-json` takes it, and one dashboard widget). This step puts them on
the engine as those commands would. The composite alarm "orders unhealthy" (error rate AND age
of the oldest order) is put here too, after the age alarm: a composite alarm may only name
alarms that exist, so it cannot be in the template while the age alarm is not. A file that
still holds its TODO leaves its part out (and removes what an earlier version put there), so
`make check` can show what is missing; a file that is not JSON, misses a field, or that the
engine refuses stops the deploy with the reasons (`ExerciseRejected`). Nothing is put again
when it has not changed, so a redeploy sends no new alarm email.
"""

import json
import re
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from edalab import aws, bootstrap
from edalab.console.dashboard_body import BodyError, metric_series
from edalab.exercise_validation import ExerciseRejected, engine_refusal, read

LAB = "07"
STACK = "edalab-07-monitoring"
FOLDER = Path("labs/07-monitoring/exercise")
ALARM_FILE = FOLDER / "oldest-message-alarm.json"
WIDGET_FILE = FOLDER / "rejected-widget.json"
COMPOSITE = "edalab-monitored-orders-unhealthy"
WIDGET_MARKER = "**Your widget**"  # the template's last note; the learner's widget goes after it
COMPARISONS = ("GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold")
ALARM_FIELDS = ("AlarmName", "Namespace", "MetricName", "Dimensions", "Period", "EvaluationPeriods", "Threshold",
                "ComparisonOperator", "AlarmActions")


def apply(endpoint, root: Path, say) -> None:
    outputs = bootstrap.stack_outputs(STACK, endpoint)
    cloudwatch, sns = aws.client("cloudwatch", endpoint), aws.client("sns", endpoint)
    alarm, alarm_problems = read(root / ALARM_FILE)
    widget, widget_problems = read(root / WIDGET_FILE)
    if alarm is not None:
        alarm_problems = _alarm_problems(alarm, sns)
    if widget is not None and not isinstance(widget, dict):
        widget_problems = ["a widget is one JSON object with \"type\", \"x\", \"y\", \"width\", \"height\" and "
                           "\"properties\" (README step 6)"]
    problems = [f"{ALARM_FILE.name}: {p}" for p in alarm_problems] + [f"{WIDGET_FILE.name}: {p}" for p in widget_problems]
    if problems:
        raise ExerciseRejected(LAB, problems)
    try:
        _apply_alarms(cloudwatch, alarm, outputs, say)
        _apply_widget(cloudwatch, widget, outputs["DashboardName"], say)
    except BotoCoreError as error:
        raise bootstrap.DeployError(f"the engine did not answer while applying lab 07's exercise: {error}") from error


def _alarm_problems(alarm, sns) -> list[str]:
    """Why this alarm document cannot be put, in words a beginner can act on."""
    if not isinstance(alarm, dict):
        return ["an alarm is one JSON object of put-metric-alarm's fields (AlarmName, Namespace, MetricName, ...)"]
    problems = [f'"{key}" is missing or empty' for key in ALARM_FIELDS if alarm.get(key) in (None, "", [], [""])]
    if not alarm.get("Statistic") and not alarm.get("ExtendedStatistic"):
        problems.append('"Statistic" is missing: an age alarm wants "Maximum" (the oldest of the period)')
    dimensions = alarm.get("Dimensions")
    if dimensions and (not isinstance(dimensions, list)
                       or any(not isinstance(d, dict) or not d.get("Name") or not d.get("Value") for d in dimensions)):
        problems.append('"Dimensions" is a list of {"Name": ..., "Value": ...}, each filled in, like '
                        '[{"Name": "QueueName", "Value": "edalab-monitored-orders"}]')
    for key in ("Period", "EvaluationPeriods"):
        if alarm.get(key) not in (None, "") and (type(alarm[key]) is not int or alarm[key] < 1):
            problems.append(f'"{key}" is {json.dumps(alarm[key])}: a whole number of {"seconds" if key == "Period" else "periods"}, '
                            f'without quotes, like {10 if key == "Period" else 1}')
    if alarm.get("Threshold") not in (None, "") and (isinstance(alarm["Threshold"], bool)
                                                     or not isinstance(alarm["Threshold"], (int, float))):
        problems.append(f'"Threshold" is {json.dumps(alarm["Threshold"])}: a number of seconds, without quotes, like 45')
    if alarm.get("ComparisonOperator") not in (None, "", *COMPARISONS):
        problems.append(f'"ComparisonOperator" is {json.dumps(alarm["ComparisonOperator"])}: one of {", ".join(COMPARISONS)}')
    for key in ("AlarmActions", "OKActions"):
        for arn in alarm.get(key) or []:
            if not isinstance(arn, str) or not arn.startswith("arn:aws:sns:"):
                problems.append(f'"{key}" holds {arn!r}: an action here is a topic\'s ARN, "arn:aws:sns:..."')
            elif not _topic_exists(sns, arn):
                problems.append(f'"{key}" names the topic {arn}, which does not exist: `awslocal sns list-topics` '
                                "shows the lab's (edalab-monitoring-alerts)")
    return problems


def _topic_exists(sns, arn: str) -> bool:
    try:
        sns.get_topic_attributes(TopicArn=arn)
    except ClientError:
        return False
    return True


def _current(cloudwatch, name: str, kind: str) -> dict | None:
    found = cloudwatch.describe_alarms(AlarmNames=[name], AlarmTypes=[kind])
    alarms = found["MetricAlarms" if kind == "MetricAlarm" else "CompositeAlarms"]
    return alarms[0] if alarms else None


def _same(current: dict | None, wanted: dict) -> bool:
    return current is not None and all(current.get(k) == v for k, v in wanted.items())


def _apply_alarms(cloudwatch, alarm: dict | None, outputs: dict, say) -> None:
    composite = _current(cloudwatch, COMPOSITE, "CompositeAlarm")
    previous = _named_age_alarm(composite, outputs["ErrorRateAlarmName"]) if composite else None
    if alarm is None:
        say(f"{ALARM_FILE.name} still holds the exercise's TODO: no oldest-message-age alarm, so no composite "
            f"alarm {COMPOSITE} either")
        if composite:  # an earlier version of the exercise put them: take them away
            cloudwatch.delete_alarms(AlarmNames=[COMPOSITE])
        if previous:
            cloudwatch.delete_alarms(AlarmNames=[previous])
        return
    wanted = {k: v for k, v in alarm.items() if k != "TODO"}
    if not _same(_current(cloudwatch, wanted["AlarmName"], "MetricAlarm"), wanted):
        try:
            cloudwatch.put_metric_alarm(**wanted)
        except ParamValidationError as error:
            raise ExerciseRejected(LAB, [f"{ALARM_FILE.name}: {error}"]) from error
        except ClientError as error:
            raise ExerciseRejected(LAB, [f"{ALARM_FILE.name}: {engine_refusal(error)}"]) from error
    say(f"{ALARM_FILE.name} applied: alarm {wanted['AlarmName']} fires when {wanted['MetricName']} of "
        f"{_dimensions(wanted)} is {wanted['ComparisonOperator']} {wanted['Threshold']}")
    rule = f'ALARM("{outputs["ErrorRateAlarmName"]}") AND ALARM("{wanted["AlarmName"]}")'
    topic = outputs["AlertTopicArn"]
    composite_wanted = {
        "AlarmName": COMPOSITE, "AlarmRule": rule, "AlarmActions": [topic], "OKActions": [topic],
        "AlarmDescription": "Orders fail AND the oldest order is old: customers are waiting. Either one alone "
                            "is on the dashboard; together they wake someone up."}
    if not _same(composite, composite_wanted):
        cloudwatch.put_composite_alarm(**composite_wanted)
    if previous and previous != wanted["AlarmName"]:  # the learner renamed the alarm: remove the old one
        cloudwatch.delete_alarms(AlarmNames=[previous])
    say(f"composite alarm {COMPOSITE}: {rule}")


def _named_age_alarm(composite: dict, error_rate_alarm: str) -> str | None:
    """The age alarm an earlier deploy put into the composite's rule."""
    names = [part.split('"')[0] for part in composite["AlarmRule"].split('ALARM("')[1:]]
    return next((name for name in names if name != error_rate_alarm), None)


def _dimensions(alarm: dict) -> str:
    return ", ".join(f"{d['Name']}={d['Value']}" for d in alarm.get("Dimensions", []))


def _apply_widget(cloudwatch, widget: dict | None, dashboard: str, say) -> None:
    body = json.loads(cloudwatch.get_dashboard(DashboardName=dashboard)["DashboardBody"])
    widgets = body.get("widgets", [])
    marker = next((n for n, w in enumerate(widgets)
                   if w.get("properties", {}).get("markdown", "").startswith(WIDGET_MARKER)), len(widgets) - 1)
    wanted = {**body, "widgets": widgets[:marker + 1] + ([widget] if widget else [])}
    if widget is None:
        say(f"{WIDGET_FILE.name} still holds the exercise's TODO: the dashboard {dashboard} has no widget of yours")
    if widget and widget.get("type") == "metric":
        try:  # rows PutDashboard takes but no chart can draw (["EdaLab/Orders"]): said now, not on the console
            metric_series(widget.get("properties") if isinstance(widget.get("properties"), dict) else {})
        except BodyError as error:
            raise ExerciseRejected(LAB, [f"{WIDGET_FILE.name}: {error} (README step 6)"]) from None
    if wanted == body:
        return
    try:
        cloudwatch.put_dashboard(DashboardName=dashboard, DashboardBody=json.dumps(wanted))
    except ClientError as error:
        raise ExerciseRejected(LAB, [f"{WIDGET_FILE.name}: {reason}"
                                     for reason in _widget_refusals(error, f"/widgets/{marker + 1}")]) from error
    if widget:
        say(f"{WIDGET_FILE.name} applied: the dashboard {dashboard} shows \"{widget.get('properties', {}).get('title', '')}\"")


def _widget_refusals(error: ClientError, widget_path: str) -> list[str]:
    """PutDashboard's validation messages about the learner's widget, one per line, with the
    widget's place in the body said as "the widget" ("/widgets/12/x: Should be <= 23" ->
    "the widget's x: Should be <= 23"). The messages come as a JSON list inside the error's text."""
    text = error.response.get("Error", {}).get("Message", "")
    listed = re.search(r"(\[\s*\{.*\}\s*\])\s*$", text, re.DOTALL)
    try:
        messages = json.loads(listed.group(1)) if listed else []
    except ValueError:
        messages = []
    reasons = []
    for message in messages:
        path = str(message.get("dataPath") or message.get("DataPath") or "")
        where = path.replace(widget_path, "the widget", 1).lstrip("/").replace("/", ".")
        reasons.append(f"{where}: {message.get('message') or message.get('Message')}".replace("the widget.", "the widget's "))
    return reasons or [engine_refusal(error)]

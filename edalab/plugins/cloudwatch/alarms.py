"""Mixin of the CloudWatch provider: alarms evaluated and changing state as AWS documents them.

What LocalStack's provider_v2 gets wrong, and what this mixin does instead:
- it evaluates an alarm every Period × EvaluationPeriods; here `alarm_schedule.AlarmSchedule`
  evaluates it every minute, or every period when the period is shorter (10 s, 30 s);
- its evaluation reads metrics with substring dimension matching and cannot read metric math (an
  alarm on `100 * errors / invocations` never leaves INSUFFICIENT_DATA); here every alarm, single
  metric or math, is read through `metric_data.metric_data_results` (exact dimensions, math,
  percentiles) and decided by `alarm_evaluation.decide` (DatapointsToAlarm, TreatMissingData);
- its composite alarms only understand `ALARM(...) OR ...` (AND acts as OR); here
  `composite_rule` parses and evaluates the whole rule language, re-evaluated whenever a child
  changes state, composite children included;
- it emits no EventBridge event; here every state change puts a "CloudWatch Alarm State Change"
  event on the default bus (`alarm_messages`);
- PutMetricAlarm on an existing alarm resets its state (AWS leaves it unchanged),
  DescribeAlarmHistory ignores its filters
  and order, DescribeAlarms applies only one filter and returns composite alarms unasked (AWS:
  metric alarms only unless AlarmTypes says otherwise).
Alarm actions (SNS, Lambda) keep LocalStack's payloads; a composite alarm's ActionsSuppressor
holds its actions while the suppressor is in ALARM.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from localstack.aws.api import RequestContext, handler
from localstack.aws.api.cloudwatch import (
    AlarmHistoryItem,
    AlarmName,
    AlarmNames,
    AlarmTypes,
    ContributorId,
    ActionPrefix,
    AlarmNamePrefix,
    DescribeAlarmHistoryOutput,
    DescribeAlarmsOutput,
    HistoryItemType,
    InvalidFormatFault,
    MaxRecords,
    NextToken,
    PutCompositeAlarmInput,
    PutMetricAlarmInput,
    ScanBy,
    StateReason,
    StateReasonData,
    StateValue,
    Timestamp,
)
from localstack.services.cloudwatch.models import (
    LocalStackCompositeAlarm,
    LocalStackMetricAlarm,
    cloudwatch_stores,
)
from localstack.services.cloudwatch.provider_v2 import _STORE_LOCK, HISTORY_VERSION, ValidationException
from localstack.utils.aws import arns

from edalab.plugins.cloudwatch import alarm_evaluation as evaluation
from edalab.plugins.cloudwatch.alarm_messages import put_state_change_event, run_actions, state_change_event
from edalab.plugins.cloudwatch.alarm_schedule import AlarmSchedule
from edalab.plugins.cloudwatch.composite_rule import (
    RuleError,
    alarm_name,
    parse_rule,
    referenced_alarms,
    rule_holds,
)

LOG = logging.getLogger(__name__)
MAX_COMPOSITE_DEPTH = 10  # composite alarms of composite alarms; AWS refuses cycles


def _where(alarm_arn: str) -> tuple[str, str, str]:
    """(account, region, name) of an alarm ARN."""
    parts = arns.parse_arn(alarm_arn)
    return parts["account"], parts["region"], alarm_arn.split(":alarm:", 1)[1]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


class Alarms:
    """Operations this mixin answers before LocalStack's CloudWatch provider does."""

    def __init__(self):
        super().__init__()
        # LocalStack's provider calls start/shutdown/schedule_metric_alarm/delete_scheduler_for_alarm
        # on this attribute; ours has the same interface and AWS's cadence.
        self.alarm_scheduler = AlarmSchedule(self._evaluate_metric_alarm, self._evaluation_interval,
                                             self._metric_alarm_arns)

    # ---------------------------------------------------------------- the store
    @staticmethod
    def _alarm(alarm_arn: str):
        account, region, _ = _where(alarm_arn)
        return cloudwatch_stores[account][region].alarms.get(alarm_arn)

    @staticmethod
    def _metric_alarm_arns() -> list[str]:
        return [arn for _, _, store in cloudwatch_stores.iter_stores()
                for arn, alarm in list(store.alarms.items()) if isinstance(alarm, LocalStackMetricAlarm)]

    def _evaluation_interval(self, alarm_arn: str) -> float | None:
        alarm = self._alarm(alarm_arn)
        if not isinstance(alarm, LocalStackMetricAlarm):
            return None
        period, _, _ = evaluation.alarm_queries(alarm.alarm)
        return evaluation.evaluation_interval(period)

    # ---------------------------------------------------------------- metric alarms
    def _evaluate_metric_alarm(self, alarm_arn: str, boundary: float) -> None:
        """Reads the alarm's evaluation range ending at `boundary` and changes its state if due."""
        from edalab.plugins.cloudwatch.metric_data import metric_data_results

        with _STORE_LOCK:
            alarm = self._alarm(alarm_arn)
            if not isinstance(alarm, LocalStackMetricAlarm):
                return
            config = dict(alarm.alarm)
        comparison = config.get("ComparisonOperator")
        if comparison not in evaluation.COMPARISONS:
            return  # anomaly-detection bands are not evaluated here (see the README)
        account, region, _ = _where(alarm_arn)
        period, queries, returned_id = evaluation.alarm_queries(config)
        count = evaluation.evaluation_range(int(config["EvaluationPeriods"]))
        start = boundary - count * period
        results = metric_data_results(account, region, queries, datetime.fromtimestamp(start, UTC),
                                      datetime.fromtimestamp(boundary, UTC))
        series = next((r for r in results if r["Id"] == returned_id), {"Timestamps": [], "Values": []})
        values = evaluation.place_in_slots(series["Timestamps"], series["Values"], start, period, count)
        points = [evaluation.Datapoint(datetime.fromtimestamp(slot_start, UTC), value)
                  for (slot_start, _), value in zip(evaluation.period_slots(boundary, period, count), values,
                                                    strict=True)]
        treat = config.get("TreatMissingData")
        if config.get("Namespace") == "AWS/DynamoDB":
            treat = "ignore"  # AWS: alarms on AWS/DynamoDB metrics always ignore missing data
        decision = evaluation.decide(
            points, threshold=float(config.get("Threshold", 0)), comparison=comparison,
            evaluation_periods=int(config["EvaluationPeriods"]), datapoints_to_alarm=config.get("DatapointsToAlarm"),
            treat_missing_data=treat, current_state=config["StateValue"],
        )
        if decision.state is None or decision.state == config["StateValue"]:
            return
        now = datetime.now(UTC)
        reason_data = {
            "version": HISTORY_VERSION,
            "queryDate": _stamp(now),
            "startDate": _stamp((decision.evaluated or points)[0].timestamp),
            "period": period,
            "recentDatapoints": [p.value for p in decision.evaluated],
            "threshold": float(config.get("Threshold", 0)),
            "evaluatedDatapoints": [{"timestamp": _stamp(p.timestamp), "value": p.value}
                                    for p in reversed(decision.evaluated)],
        }
        if config.get("Statistic"):
            reason_data["statistic"] = config["Statistic"]
        if config.get("ExtendedStatistic"):
            reason_data["extendedStatistic"] = config["ExtendedStatistic"]
        if config.get("Unit"):
            reason_data["unit"] = config["Unit"]
        self._change_state(alarm_arn, decision.state, decision.reason, json.dumps(reason_data))

    # ---------------------------------------------------------------- state changes
    def _change_state(self, alarm_arn: str, state: str, reason: str, reason_data: str | None,
                      triggering=None, depth: int = 0) -> None:
        """Moves the alarm to `state`: history, timestamps, event, actions, then its parents."""
        with _STORE_LOCK:
            alarm_object = self._alarm(alarm_arn)
            if alarm_object is None or alarm_object.alarm["StateValue"] == state:
                return
            alarm = alarm_object.alarm
            previous = {key: alarm.get(key) for key in
                        ("StateValue", "StateReason", "StateReasonData", "StateUpdatedTimestamp")}
            now = datetime.now(UTC)
            alarm.update(StateValue=state, StateReason=reason, StateUpdatedTimestamp=now,
                         StateTransitionedTimestamp=now)
            if reason_data:
                alarm["StateReasonData"] = reason_data
            else:
                alarm.pop("StateReasonData", None)
            composite = isinstance(alarm_object, LocalStackCompositeAlarm)
            self._remember(alarm_object, HistoryItemType.StateUpdate,
                           f"Alarm updated from {previous['StateValue']} to {state}", {
                               "version": HISTORY_VERSION,
                               "oldState": {"stateValue": previous["StateValue"],
                                            "stateReason": previous["StateReason"]},
                               "newState": {"stateValue": state, "stateReason": reason,
                                            **({"stateReasonData": json.loads(reason_data)} if reason_data else {})},
                           }, now)
            event = state_change_event(alarm, previous, composite)
            parents = self._parents_of(alarm_object)
            suppressed = composite and self._actions_suppressed(alarm_object)
        account, region, _ = _where(alarm_arn)
        put_state_change_event(account, region, event)
        if not suppressed:
            run_actions(alarm_object, previous["StateValue"], previous["StateReason"],
                        previous["StateUpdatedTimestamp"], triggering)
        if depth < MAX_COMPOSITE_DEPTH:
            for parent_arn in parents:
                self._evaluate_composite_alarm(parent_arn, alarm_object, depth + 1)

    @staticmethod
    def _actions_suppressed(composite) -> bool:
        """A composite alarm's actions wait while its ActionsSuppressor alarm is in ALARM. (AWS's
        ActionsSuppressorWaitPeriod and ExtensionPeriod are not honoured: see the README.)"""
        alarm = composite.alarm
        suppressor = alarm.get("ActionsSuppressor")
        if not suppressor:
            return False
        store = cloudwatch_stores[composite.account_id][composite.region]
        found = store.alarms.get(arns.cloudwatch_alarm_arn(
            alarm_name(suppressor), account_id=composite.account_id, region_name=composite.region))
        if found and found.alarm["StateValue"] == StateValue.ALARM:
            alarm["ActionsSuppressedBy"] = "Alarm"
            alarm["ActionsSuppressedReason"] = f"Alarm {alarm_name(suppressor)} is in ALARM state"
            return True
        alarm["ActionsSuppressedBy"] = "None"
        alarm.pop("ActionsSuppressedReason", None)
        return False

    def _remember(self, alarm_object, item_type: str, summary: str, data: dict, when: datetime) -> None:
        store = cloudwatch_stores[alarm_object.account_id][alarm_object.region]
        store.histories.append(AlarmHistoryItem(
            AlarmName=alarm_object.alarm["AlarmName"],
            AlarmType="CompositeAlarm" if isinstance(alarm_object, LocalStackCompositeAlarm) else "MetricAlarm",
            Timestamp=when, HistoryItemType=item_type, HistorySummary=summary,
            HistoryData=json.dumps(data, default=str),
        ))

    @staticmethod
    def _parents_of(alarm_object) -> list[str]:
        """ARNs of the composite alarms whose rule names this alarm (by name or ARN)."""
        store = cloudwatch_stores[alarm_object.account_id][alarm_object.region]
        name = alarm_object.alarm["AlarmName"]
        parents = []
        for arn, other in list(store.alarms.items()):
            if not isinstance(other, LocalStackCompositeAlarm):
                continue
            try:
                names = {alarm_name(ref) for ref in referenced_alarms(parse_rule(other.alarm["AlarmRule"]))}
            except RuleError:
                continue
            if name in names:
                parents.append(arn)
        return parents

    # ---------------------------------------------------------------- composite alarms
    def _evaluate_composite_alarm(self, alarm_arn: str, triggering=None, depth: int = 0) -> None:
        with _STORE_LOCK:
            composite = self._alarm(alarm_arn)
            if not isinstance(composite, LocalStackCompositeAlarm):
                return
            store = cloudwatch_stores[composite.account_id][composite.region]

            def state_of(reference: str) -> str | None:
                child = store.alarms.get(arns.cloudwatch_alarm_arn(
                    alarm_name(reference), account_id=composite.account_id, region_name=composite.region))
                return child.alarm["StateValue"] if child else None

            tree = parse_rule(composite.alarm["AlarmRule"])
            state = StateValue.ALARM if rule_holds(tree, state_of) else StateValue.OK
            if state == composite.alarm["StateValue"]:
                return
            if triggering is not None:
                child = triggering.alarm
                changed = child["StateTransitionedTimestamp"]
                reason = (f"{child['AlarmArn']} transitioned to {child['StateValue']} at "
                          f"{changed.astimezone(UTC).strftime('%A %d %B, %Y %H:%M:%S %Z')}")
                reason_data = json.dumps({"triggeringAlarms": [{
                    "arn": child["AlarmArn"],
                    "state": {"value": child["StateValue"], "timestamp": _stamp(changed)},
                }]})
            else:
                reason = f"The alarm rule {composite.alarm['AlarmRule']} evaluated to {state == 'ALARM'}"
                reason_data = None
        self._change_state(alarm_arn, state, reason, reason_data, triggering, depth)

    @handler("PutCompositeAlarm", expand=False)
    def put_composite_alarm(self, context: RequestContext, request: PutCompositeAlarmInput) -> None:
        name, rule = request["AlarmName"], request.get("AlarmRule") or ""
        try:
            tree = parse_rule(rule)
        except RuleError as error:
            raise ValidationException(f"Error in alarm rule {rule!r}: {error}.") from None
        store = self.get_store(context.account_id, context.region)
        names = {alarm_name(ref) for ref in referenced_alarms(tree)}
        if name in names:
            raise ValidationException(f"The composite alarm {name} cannot reference itself in its AlarmRule.")
        with _STORE_LOCK:
            missing = sorted(n for n in names if arns.cloudwatch_alarm_arn(
                n, account_id=context.account_id, region_name=context.region) not in store.alarms)
            if missing:
                raise ValidationException(f"Could not save the composite alarm as alarms {missing} in the alarm "
                                          "rule do not exist")
            composite = LocalStackCompositeAlarm(context.account_id, context.region, {**request})
            arn = composite.alarm["AlarmArn"]
            self._keep_state_of(store.alarms.get(arn), composite)
            store.alarms[arn] = composite
            self._set_resource_tags(arn, context.account_id, context.region, request.get("Tags", []))
            self._remember(composite, HistoryItemType.ConfigurationUpdate, f'Alarm "{name}" created or updated',
                           {"version": HISTORY_VERSION, "type": "Update"}, datetime.now(UTC))
        self._evaluate_composite_alarm(arn)

    @staticmethod
    def _keep_state_of(previous, replacement) -> None:
        """AWS: "When you update an existing alarm, its state is left unchanged"."""
        if previous is None:
            return
        for key in ("StateValue", "StateReason", "StateReasonData", "StateUpdatedTimestamp",
                    "StateTransitionedTimestamp"):
            if key in previous.alarm:
                replacement.alarm[key] = previous.alarm[key]

    @handler("PutMetricAlarm", expand=False)
    def put_metric_alarm(self, context: RequestContext, request: PutMetricAlarmInput) -> None:
        self._check_metric_alarm(context, request)
        store = self.get_store(context.account_id, context.region)
        arn = arns.cloudwatch_alarm_arn(request["AlarmName"], account_id=context.account_id,
                                        region_name=context.region)
        with _STORE_LOCK:  # held until the state is restored, so the first evaluation sees it
            previous = store.alarms.get(arn)
            super().put_metric_alarm(context, request)
            self._keep_state_of(previous, store.alarms[arn])
            self._remember(store.alarms[arn], HistoryItemType.ConfigurationUpdate,
                           f'Alarm "{request["AlarmName"]}" {"updated" if previous else "created"}',
                           {"version": HISTORY_VERSION, "type": "Update" if previous else "Create"},
                           datetime.now(UTC))

    @staticmethod
    def _check_metric_alarm(context: RequestContext, request: dict) -> None:
        """What AWS refuses that LocalStack stores: a metric-math alarm without exactly one returned
        series, or whose queries GetMetricData would refuse; a single-metric alarm without a statistic."""
        from edalab.plugins.cloudwatch.metric_data import MetricQueryError, metric_data_results

        if request.get("Metrics"):
            if request.get("MetricName") or request.get("Namespace"):
                raise ValidationException("Metrics list and MetricName/Namespace are mutually exclusive.")
            returned = [q for q in request["Metrics"] if q.get("ReturnData", True)]
            if len(returned) != 1:
                raise ValidationException("Exactly one element of the metrics list should return data.")
            now = datetime.now(UTC)
            period, queries, _ = evaluation.alarm_queries(request)
            try:
                metric_data_results(context.account_id, context.region, queries,
                                    datetime.fromtimestamp(now.timestamp() - period, UTC), now)
            except MetricQueryError as error:
                raise ValidationException(str(error)) from None
        elif not (request.get("Statistic") or request.get("ExtendedStatistic")):
            raise ValidationException("One of Statistic or ExtendedStatistic must be specified.")
        elif request.get("Statistic") and request.get("ExtendedStatistic"):
            raise ValidationException("Statistic and ExtendedStatistic are mutually exclusive.")
        elif not request.get("Period"):
            raise ValidationException("Period must be specified for an alarm on a single metric.")

    def set_alarm_state(self, context: RequestContext, alarm_name: AlarmName, state_value: StateValue,
                        state_reason: StateReason, state_reason_data: StateReasonData = None, **kwargs) -> None:
        if state_value not in ("OK", "ALARM", "INSUFFICIENT_DATA"):
            raise ValidationException(
                f"1 validation error detected: Value '{state_value}' at 'stateValue' failed to satisfy "
                "constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]")
        if state_reason_data:
            try:
                json.loads(state_reason_data)
            except ValueError:
                raise InvalidFormatFault("StateReasonData is not valid JSON.") from None
        arn = arns.cloudwatch_alarm_arn(alarm_name, account_id=context.account_id, region_name=context.region)
        if self._alarm(arn) is None:
            from localstack.aws.api.cloudwatch import ResourceNotFound

            raise ResourceNotFound(f"Alarm {alarm_name} not found")
        self._change_state(arn, state_value, state_reason, state_reason_data)

    # ---------------------------------------------------------------- listing
    def describe_alarms(self, context: RequestContext, alarm_names: AlarmNames = None,
                        alarm_name_prefix: AlarmNamePrefix = None, alarm_types: AlarmTypes = None,
                        children_of_alarm_name: AlarmName = None, parents_of_alarm_name: AlarmName = None,
                        state_value: StateValue = None, action_prefix: ActionPrefix = None,
                        max_records: MaxRecords = None, next_token: NextToken = None,
                        **kwargs) -> DescribeAlarmsOutput:
        """AWS's filters together (LocalStack applies only the first it finds), metric alarms only
        unless AlarmTypes asks for composite ones, ChildrenOfAlarmName/ParentsOfAlarmName, pages."""
        if (children_of_alarm_name or parents_of_alarm_name) and (
                alarm_names or alarm_name_prefix or alarm_types or state_value or action_prefix
                or (children_of_alarm_name and parents_of_alarm_name)):
            raise ValidationException("If you are using either ChildrenOfAlarmName or ParentsOfAlarmName, you "
                                      "cannot specify other parameters except MaxRecords and NextToken.")
        store = self.get_store(context.account_id, context.region)
        alarms = list(store.alarms.values())
        if children_of_alarm_name or parents_of_alarm_name:
            alarm_types = ["MetricAlarm", "CompositeAlarm"]
        if children_of_alarm_name:
            parent = store.alarms.get(arns.cloudwatch_alarm_arn(
                children_of_alarm_name, account_id=context.account_id, region_name=context.region))
            names = set()
            if isinstance(parent, LocalStackCompositeAlarm):
                names = {alarm_name(ref) for ref in referenced_alarms(parse_rule(parent.alarm["AlarmRule"]))}
            alarms = [a for a in alarms if a.alarm["AlarmName"] in names]
        if parents_of_alarm_name:
            child = store.alarms.get(arns.cloudwatch_alarm_arn(
                parents_of_alarm_name, account_id=context.account_id, region_name=context.region))
            parents = set(self._parents_of(child)) if child else set()
            alarms = [a for a in alarms if a.alarm["AlarmArn"] in parents]
        types = set(alarm_types or ["MetricAlarm"])

        def wanted(alarm_object) -> bool:
            alarm = alarm_object.alarm
            kind = "CompositeAlarm" if isinstance(alarm_object, LocalStackCompositeAlarm) else "MetricAlarm"
            actions = [*alarm.get("AlarmActions", []), *alarm.get("OKActions", []),
                       *alarm.get("InsufficientDataActions", [])]
            return (kind in types
                    and (not alarm_names or alarm["AlarmName"] in alarm_names)
                    and (not alarm_name_prefix or alarm["AlarmName"].startswith(alarm_name_prefix))
                    and (not state_value or alarm["StateValue"] == state_value)
                    and (not action_prefix or any(a.startswith(action_prefix) for a in actions)))

        chosen = sorted((a for a in alarms if wanted(a)), key=lambda a: a.alarm["AlarmName"])
        first, size = int(next_token or 0), int(max_records or 100)
        page = chosen[first:first + size]
        return DescribeAlarmsOutput(
            MetricAlarms=[a.alarm for a in page if isinstance(a, LocalStackMetricAlarm)],
            CompositeAlarms=[a.alarm for a in page if isinstance(a, LocalStackCompositeAlarm)],
            **({"NextToken": str(first + size)} if first + size < len(chosen) else {}))

    # ---------------------------------------------------------------- history
    def describe_alarm_history(self, context: RequestContext, alarm_name: AlarmName | None = None,
                               alarm_contributor_id: ContributorId | None = None,
                               alarm_types: AlarmTypes | None = None,
                               history_item_type: HistoryItemType | None = None,
                               start_date: Timestamp | None = None, end_date: Timestamp | None = None,
                               max_records: MaxRecords | None = None, next_token: NextToken | None = None,
                               scan_by: ScanBy | None = None, **kwargs) -> DescribeAlarmHistoryOutput:
        """AWS's filters (name, types, item type, dates), newest first unless TimestampAscending,
        MaxRecords per page."""
        history = list(self.get_store(context.account_id, context.region).histories)

        def aware(moment):
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

        items = [h for h in history
                 if (not alarm_name or h["AlarmName"] == alarm_name)
                 and (not alarm_types or h.get("AlarmType") in alarm_types)
                 and (not history_item_type or h["HistoryItemType"] == history_item_type)
                 and (not start_date or aware(h["Timestamp"]) >= aware(start_date))
                 and (not end_date or aware(h["Timestamp"]) <= aware(end_date))]
        items.sort(key=lambda h: aware(h["Timestamp"]), reverse=scan_by != "TimestampAscending")
        first = int(next_token or 0)
        size = int(max_records or 100)
        page = items[first:first + size]
        more = first + size < len(items)
        return DescribeAlarmHistoryOutput(AlarmHistoryItems=page, **({"NextToken": str(first + size)} if more else {}))


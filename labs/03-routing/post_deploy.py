"""Applies lab 03's two exercise files after its stack is deployed.

Why this exists: the exercise is a filter policy and an event pattern, written as JSON files
the learner edits. CloudFormation creates the subscription and the rule; this step puts the
learner's JSON on them, exactly as `awslocal sns set-subscription-attributes` and
`awslocal events put-rule` would. A file still holding its TODO leaves the subscription
unfiltered and the rule matching nothing, so the check shows what is missing.

Both files are checked before either is applied, the way AWS checks them (the filter policy
against SNS's grammar, the pattern by the engine's TestEventPattern), so that a bad pattern
does not leave a half-applied exercise behind. A file that is not JSON or would be refused stops the deploy with the
reasons (`ExerciseRejected`), and nothing is applied.
"""

import json
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from edalab import aws, bootstrap
from edalab.exercise_validation import (ExerciseRejected, engine_refusal, event_pattern_problems,
                                        filter_policy_problems, read)

LAB = "03"
STACK = "edalab-03-routing"
EXERCISE = Path("labs/03-routing/exercise")
POLICY_FILE, PATTERN_FILE = "priority-filter-policy.json", "vip-event-pattern.json"
PLACEHOLDER_PATTERN = {"source": ["edalab.nothing-yet"]}
# Any well-formed event serves TestEventPattern; this one is an order as the lab's bus carries them.
SAMPLE_EVENT = {"id": "00000000-0000-0000-0000-000000000000", "account": "000000000000", "source": "shop.orders",
                "detail-type": "OrderPlaced", "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [],
                "detail": {"id": "e1", "customer": {"tier": "gold"}, "total": 700}}


def _engine_step(what: str, call, **request) -> None:
    """One engine call; its refusal becomes a reason, not a traceback."""
    try:
        call(**request)
    except ClientError as error:
        raise ExerciseRejected(LAB, [f"{what}: {engine_refusal(error)}"]) from error
    except BotoCoreError as error:
        raise bootstrap.DeployError(f"the engine did not answer while applying {what}: {error}") from error


def apply(endpoint, root: Path, say) -> None:
    outputs = bootstrap.stack_outputs(STACK, endpoint)
    sns, events = aws.client("sns", endpoint), aws.client("events", endpoint)

    policy, policy_problems = read(root / EXERCISE / POLICY_FILE)
    pattern, pattern_problems = read(root / EXERCISE / PATTERN_FILE)
    if policy is not None:
        policy_problems = filter_policy_problems(policy, scope="MessageBody")
    if pattern is not None:
        pattern_problems = event_pattern_problems(events, pattern, SAMPLE_EVENT)
    reasons = [f"{POLICY_FILE}: {p}" for p in policy_problems] + [f"{PATTERN_FILE}: {p}" for p in pattern_problems]
    if reasons:
        raise ExerciseRejected(LAB, reasons)

    arn = outputs["PrioritySubscriptionArn"]
    if policy is None:
        say(f"{POLICY_FILE} is still the exercise's TODO; not applied")
        _engine_step(POLICY_FILE, sns.set_subscription_attributes, SubscriptionArn=arn,
                     AttributeName="FilterPolicy", AttributeValue="")
    else:
        _engine_step(POLICY_FILE, sns.set_subscription_attributes, SubscriptionArn=arn,
                     AttributeName="FilterPolicyScope", AttributeValue="MessageBody")
        _engine_step(POLICY_FILE, sns.set_subscription_attributes, SubscriptionArn=arn,
                     AttributeName="FilterPolicy", AttributeValue=json.dumps(policy))
        say(f"{POLICY_FILE} applied")

    if pattern is None:
        say(f"{PATTERN_FILE} is still the exercise's TODO; not applied")
    # For a rule on a custom bus, CloudFormation's Ref is "<bus>|<rule>" (as on AWS)
    rule_name = outputs["VipRuleName"].split("|")[-1]
    _engine_step(PATTERN_FILE, events.put_rule, Name=rule_name, EventBusName=outputs["BusName"],
                 EventPattern=json.dumps(PLACEHOLDER_PATTERN if pattern is None else pattern))
    if pattern is not None:
        say(f"{PATTERN_FILE} applied")

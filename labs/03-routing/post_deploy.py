"""Applies lab 03's two exercise files after its stack is deployed.

Why this exists: the exercise is a filter policy and an event pattern, written as JSON files
the learner edits. CloudFormation creates the subscription and the rule; this step puts the
learner's JSON on them, exactly as `awslocal sns set-subscription-attributes` and
`awslocal events put-rule` would. A file still holding its TODO leaves the subscription
unfiltered and the rule matching nothing, so the check shows what is missing.
"""

import json
from pathlib import Path

from edalab import aws, bootstrap

STACK = "edalab-03-routing"
EXERCISE = Path("labs/03-routing/exercise")
PLACEHOLDER_PATTERN = {"source": ["edalab.nothing-yet"]}


def _load(path: Path, say):
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        say(f"{path.name} is not valid JSON ({error}); not applied")
        return None
    if not isinstance(doc, dict) or "TODO" in doc:
        say(f"{path.name} is still the exercise's TODO; not applied")
        return None
    return doc


def apply(endpoint, root: Path, say) -> None:
    outputs = bootstrap.stack_outputs(STACK, endpoint)
    sns, events = aws.client("sns", endpoint), aws.client("events", endpoint)

    policy = _load(root / EXERCISE / "priority-filter-policy.json", say)
    arn = outputs["PrioritySubscriptionArn"]
    if policy is None:
        sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue="")
    else:
        sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicyScope",
                                        AttributeValue="MessageBody")
        sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy",
                                        AttributeValue=json.dumps(policy))
        say("priority-filter-policy.json applied")

    pattern = _load(root / EXERCISE / "vip-event-pattern.json", say)
    # For a rule on a custom bus, CloudFormation's Ref is "<bus>|<rule>" (as on AWS)
    rule_name = outputs["VipRuleName"].split("|")[-1]
    events.put_rule(Name=rule_name, EventBusName=outputs["BusName"],
                    EventPattern=json.dumps(pattern or PLACEHOLDER_PATTERN))
    if pattern is not None:
        say("vip-event-pattern.json applied")

"""Deliveries into SQS queues that AWS would refuse for want of a queue policy.

Why this exists: LocalStack delivers from SNS, EventBridge and S3 into any queue; AWS delivers
only when the queue's policy lets that service send to it, and otherwise drops the message
without an error anyone sees. cfn-lint does not follow these links, so this reads them from
the template: each subscription, rule target or bucket notification that names a queue of the
stack, and whether an `AWS::SQS::QueuePolicy` on that queue allows the service `sqs:SendMessage`.
"""

from __future__ import annotations

from edalab.aws_packaging.cfn_template import Plan


def missing(plan: Plan) -> list[str]:
    allowed = _allowed(plan)
    found = []
    for source, queue, service in _deliveries(plan):
        if service not in allowed.get(queue, set()) and "*" not in allowed.get(queue, set()):
            found.append(f"{source} sends to queue {queue}, but no AWS::SQS::QueuePolicy on {queue} allows "
                         f"{service} sqs:SendMessage: locally it arrives, on AWS it is dropped without an error")
    return found


def _queue(value) -> str | None:
    """The logical id of a queue named by `!GetAtt Queue.Arn`."""
    if isinstance(value, dict) and isinstance(value.get("Fn::GetAtt"), list) and value["Fn::GetAtt"][1:] == ["Arn"]:
        return value["Fn::GetAtt"][0]
    return None


def _deliveries(plan: Plan) -> list[tuple[str, str, str]]:
    queues = set(plan.resources("AWS::SQS::Queue"))
    found = []
    for name, sub in plan.resources("AWS::SNS::Subscription").items():
        if sub.get("Protocol") == "sqs":
            found.append((f"subscription {name}", _queue(sub.get("Endpoint")), "sns.amazonaws.com"))
    for name, rule in plan.resources("AWS::Events::Rule").items():
        found += [(f"rule {name}", _queue(t.get("Arn")), "events.amazonaws.com") for t in rule.get("Targets") or []]
    for name, bucket in plan.resources("AWS::S3::Bucket").items():
        configs = (bucket.get("NotificationConfiguration") or {}).get("QueueConfigurations") or []
        found += [(f"bucket {name}", _queue(c.get("Queue")), "s3.amazonaws.com") for c in configs]
    return [(source, queue, service) for source, queue, service in found if queue in queues]


def _allowed(plan: Plan) -> dict[str, set[str]]:
    """Queue logical id -> the service principals its policies let send."""
    allowed: dict[str, set[str]] = {}
    for policy in plan.resources("AWS::SQS::QueuePolicy").values():
        services = set()
        for statement in (policy.get("PolicyDocument") or {}).get("Statement") or []:
            actions = statement.get("Action")
            actions = actions if isinstance(actions, list) else [actions]
            if statement.get("Effect") != "Allow" or not {"sqs:SendMessage", "sqs:*", "*"} & set(actions):
                continue
            principal = statement.get("Principal")
            if principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*"):
                services.add("*")
            elif isinstance(principal, dict):
                service = principal.get("Service")
                services |= set(service if isinstance(service, list) else [service])
        for queue in policy.get("Queues") or []:
            if isinstance(queue, dict) and "Ref" in queue:
                allowed.setdefault(queue["Ref"], set()).update(services)
    return allowed

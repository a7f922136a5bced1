"""What invokes each Lambda function: queues and streams, topics, buckets, APIs and rules.

Why this exists: AWS keeps each kind of trigger with the service that fires it, so "what
invokes this function?" takes one call per source: Lambda's event source mappings, SNS's
subscriptions, each bucket's notification configuration, each REST API's integrations and
each EventBridge rule's targets. The Functions pages show them for every function; this
module reads them all once, as one map by function name, which the page caches for a few
seconds (it is many calls, and triggers change only when a stack or a learner changes them).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError


@dataclass
class Trigger:
    kind: str  # "queue", "stream", "topic", "bucket", "api", "rule"
    source: str  # the queue, topic, bucket, API or rule name (or the source ARN)
    details: dict = field(default_factory=dict)  # what a learner reads beside it, already worded
    link: str | None = None  # a console page about the source, when there is one
    state: str | None = None  # an event source mapping's state (Enabled, Disabled, ...)


def function_name_of(arn: str) -> str | None:
    """`arn:aws:lambda:<region>:<account>:function:<name>[:qualifier]` -> name."""
    parts = arn.split(":")
    if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
        return parts[6]
    return None


def _name_of(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def event_source_mappings(lam) -> list[tuple[str, Trigger]]:
    found = []
    for page in lam.get_paginator("list_event_source_mappings").paginate():
        for mapping in page["EventSourceMappings"]:
            source_arn = mapping.get("EventSourceArn", "")
            is_queue = source_arn.startswith("arn:aws:sqs:")
            details = {"batch size": mapping.get("BatchSize"),
                       "batching window": f"{mapping.get('MaximumBatchingWindowInSeconds', 0)} s"}
            if mapping.get("FunctionResponseTypes"):
                details["reports"] = ", ".join(mapping["FunctionResponseTypes"])
            if (mapping.get("ScalingConfig") or {}).get("MaximumConcurrency"):
                details["max concurrency"] = mapping["ScalingConfig"]["MaximumConcurrency"]
            queue = _name_of(source_arn) if is_queue else source_arn
            found.append((function_name_of(mapping.get("FunctionArn", "")), Trigger(
                "queue" if is_queue else "stream", queue, details,
                link=f"/queues/{queue}" if is_queue else None, state=mapping.get("State"))))
    return found


def topic_subscriptions(sns) -> list[tuple[str, Trigger]]:
    found = []
    for page in sns.get_paginator("list_subscriptions").paginate():
        for subscription in page["Subscriptions"]:
            if subscription.get("Protocol") == "lambda":
                found.append((function_name_of(subscription.get("Endpoint", "")),
                              Trigger("topic", _name_of(subscription["TopicArn"]))))
    return found


def bucket_notifications(s3) -> list[tuple[str, Trigger]]:
    found = []
    for bucket in s3.list_buckets()["Buckets"]:
        try:
            configuration = s3.get_bucket_notification_configuration(Bucket=bucket["Name"])
        except ClientError:
            continue  # deleted meanwhile
        for notification in configuration.get("LambdaFunctionConfigurations", []):
            details = {"events": ", ".join(notification.get("Events", []))}
            for rule in ((notification.get("Filter") or {}).get("Key") or {}).get("FilterRules", []):
                details[f"key {rule['Name'].lower()}"] = rule["Value"]
            found.append((function_name_of(notification.get("LambdaFunctionArn", "")),
                          Trigger("bucket", bucket["Name"], details)))
    return found


def api_integrations(apigateway) -> list[tuple[str, Trigger]]:
    """REST APIs whose methods integrate a function (`.../functions/<arn>/invocations`)."""
    found = []
    for api in apigateway.get_rest_apis(limit=500).get("items", []):
        routes: dict[str, list[str]] = {}
        resources = apigateway.get_resources(restApiId=api["id"], embed=["methods"], limit=500)
        for resource in resources.get("items", []):
            for method, spec in (resource.get("resourceMethods") or {}).items():
                uri = (spec.get("methodIntegration") or {}).get("uri") or ""
                if "/functions/" in uri:
                    function = function_name_of(uri.split("/functions/", 1)[1].split("/invocations")[0])
                    routes.setdefault(function, []).append(f"{method} {resource['path']}")
        for function, methods in routes.items():
            found.append((function, Trigger("api", api["name"], {"routes": ", ".join(sorted(methods)),
                                                                   "API id": api["id"]})))
    return found


def rule_targets(events) -> list[tuple[str, Trigger]]:
    found = []
    for page in events.get_paginator("list_rules").paginate():
        for rule in page["Rules"]:
            targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=rule.get("EventBusName", "default"))
            for target in targets.get("Targets", []):
                function = function_name_of(target.get("Arn", ""))
                if function:
                    found.append((function, Trigger("rule", rule["Name"], {"bus": rule.get("EventBusName", "default")},
                                                    state=rule.get("State"))))
    return found


def all_triggers(client) -> dict[str, list[Trigger]]:
    """Function name -> its triggers, read from every source at once. A source whose service
    does not answer is left out rather than failing the page."""
    readers = [(event_source_mappings, "lambda"), (topic_subscriptions, "sns"), (bucket_notifications, "s3"),
               (api_integrations, "apigateway"), (rule_targets, "events")]

    def read(reader, service):
        try:
            return reader(client(service))
        except (ClientError, BotoCoreError):
            return []
    with ThreadPoolExecutor(max_workers=len(readers)) as pool:
        answers = list(pool.map(lambda pair: read(*pair), readers))
    by_function: dict[str, list[Trigger]] = {}
    for answer in answers:
        for function, trigger in answer:
            if function:
                by_function.setdefault(function, []).append(trigger)
    return by_function

"""Lab 00 check: every service the workshop uses answers, and the learner's first message,
notification and API call went through the welcome stack."""

import json

from edalab.checks import CheckFailed, step

SERVICES = {
    "s3": lambda c: c.list_buckets(),
    "sqs": lambda c: c.list_queues(),
    "sns": lambda c: c.list_topics(),
    "lambda": lambda c: c.list_functions(),
    "dynamodb": lambda c: c.list_tables(),
    "events": lambda c: c.list_rules(),
    "apigateway": lambda c: c.get_rest_apis(),
    "cloudwatch": lambda c: c.describe_alarms(),
    "logs": lambda c: c.describe_log_groups(),
    "cloudformation": lambda c: c.describe_stacks(),
    "sts": lambda c: c.get_caller_identity(),
}


def _recorded(ctx, source):
    items = ctx.client("dynamodb").query(
        TableName=ctx.outputs["EventsTable"], KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": source}},
    )["Items"]
    return [json.loads(i["body"]["S"]) for i in items]


@step("Every service used in the workshop answers")
def services(ctx):
    silent = []
    for name, call in SERVICES.items():
        try:
            call(ctx.client(name))
        except Exception as error:  # any failure means the learner cannot use it
            silent.append(f"{name} ({type(error).__name__})")
    if silent:
        raise CheckFailed("these services did not answer: " + ", ".join(silent) + "; see `make logs`")


@step("The welcome stack is deployed")
def stack(ctx):
    if "UploadsQueueUrl" not in ctx.outputs:
        raise CheckFailed("the welcome stack has no outputs: run `make up` again")


@step("You sent a message containing 'hello' to edalab-welcome-uploads", hint=2)
def first_message(ctx):
    ctx.wait_for(lambda: [b for b in _recorded(ctx, "sqs") if "hello" in str(b).lower()],
                 what="the recorder to receive a queue message containing 'hello'", timeout=5)


@step("You published to edalab-welcome-news with the attribute kind=welcome", hint=3)
def first_notification(ctx):
    ctx.wait_for(lambda: _recorded(ctx, "sns"),
                 what="a message published to edalab-welcome-news to reach the recorder", timeout=5)
    news = ctx.client("sqs").get_queue_attributes(
        QueueUrl=ctx.outputs["NewsQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    if int(news["ApproximateNumberOfMessages"]) == 0:
        raise CheckFailed("the recorder got your notification, but the queue edalab-welcome-news did not: "
                          "its subscription only takes messages with the attribute kind=welcome")


@step("You called the API: POST /events with a JSON body that has an id", hint=4)
def first_api_call(ctx):
    ctx.wait_for(lambda: _recorded(ctx, "api"), what="a POST /events to reach the recorder", timeout=5)

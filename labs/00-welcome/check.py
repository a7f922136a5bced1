"""Lab 00 check: every service the workshop uses answers, and the learner's first message,
notification and API call went through the welcome stack.

It proves each from what the recorder function wrote to its table (the message's body, the
notification's attributes, the API call's id), never from a queue: a learner who ran the
README's `receive-message` has hidden the queue's message for 30 s, and that must not make a
correct notification look wrong. The check only reads; it creates nothing.
"""

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
WAIT_SECONDS = 5  # for something the learner has just sent to reach the recorder


def _recorded(ctx, source):
    """The recorder's items for one source (sqs, sns, api), every page."""
    ddb, items, kwargs = ctx.client("dynamodb"), [], {}
    while True:
        page = ddb.query(TableName=ctx.output("EventsTable"), KeyConditionExpression="pk = :pk",
                         ExpressionAttributeValues={":pk": {"S": source}}, ConsistentRead=True, **kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def _body(item):
    return json.loads(item["body"]["S"])


def _attributes(item):
    return json.loads(item.get("attributes", {}).get("S", "{}"))


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


@step("The welcome stack is deployed", hint=1)
def stack(ctx):
    ctx.output("UploadsQueueUrl")
    ctx.output("EventsTable")


@step("You sent a message containing 'hello' to edalab-welcome-uploads", hint=2, needs=[stack])
def first_message(ctx):
    ctx.wait_for(lambda: [i for i in _recorded(ctx, "sqs") if "hello" in str(_body(i)).lower()],
                 what="the recorder to receive a message containing 'hello' from edalab-welcome-uploads",
                 timeout=WAIT_SECONDS,
                 missing=lambda _: "a message whose body contains the word hello (README step 3)")


def _no_welcome(published):
    """What is wrong when no published message carries kind=welcome."""
    if not published:
        return "any message published to the topic (README step 4)"
    seen = ", ".join(sorted({json.dumps(_attributes(i), sort_keys=True) for i in published}))
    return (f"a message with the message attribute kind=welcome: you published {len(published)}, with the "
            f"attributes {seen}, so the queue's filter policy {{\"kind\": [\"welcome\"]}} let none through; publish "
            "again with the README's --message-attributes (this reads what the recorder got: a message you "
            "received from the queue yourself still counts)")


@step("You published to edalab-welcome-news with the attribute kind=welcome", hint=3, needs=[stack])
def first_notification(ctx):
    ctx.wait_for(lambda: _recorded(ctx, "sns"), what="a message published to edalab-welcome-news with kind=welcome",
                 timeout=WAIT_SECONDS, until=lambda published: any(_attributes(i).get("kind") == "welcome"
                                                                   for i in published),
                 missing=_no_welcome)


@step("You called the API: POST /events with a JSON body that has an id", hint=4, needs=[stack])
def first_api_call(ctx):
    ctx.wait_for(lambda: _recorded(ctx, "api"), what="a POST /events to reach the recorder", timeout=WAIT_SECONDS,
                 missing=lambda _: "a POST /events with a JSON body that has a string \"id\" (README step 5; "
                                   "a body without one answers 400 and is not stored)")

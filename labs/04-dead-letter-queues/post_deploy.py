"""Applies lab 04's redrive policy (the exercise) and stocks the catalog after a deploy.

Why this exists: the exercise is the orders queue's redrive policy, written as a JSON file the
learner edits; this step puts it on the queue exactly as
`awslocal sqs set-queue-attributes --attributes RedrivePolicy=...` would. A file that still
holds its TODO, or does not parse, leaves the queue without a redrive policy and says why, so
`make check` can show what is missing. It also puts the products that good orders use into
the catalog table (CloudFormation creates tables, not their items).
"""

import json
from decimal import Decimal
from pathlib import Path

from edalab import aws, bootstrap

STACK = "edalab-04-dead-letter-queues"
EXERCISE = Path("labs/04-dead-letter-queues/exercise/redrive-policy.json")
CATALOG = {"lamp": "12.50", "desk": "149.00", "chair": "89.90", "mug": "7.25"}


def redrive_policy(path: Path, say) -> dict | None:
    try:
        policy = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        say(f"{path.name} is not valid JSON ({error}); the orders queue has no redrive policy")
        return None
    if not isinstance(policy, dict) or "TODO" in policy:
        say(f"{path.name} still holds the exercise's TODO; the orders queue has no redrive policy")
        return None
    receives = policy.get("maxReceiveCount")
    if not isinstance(policy.get("deadLetterTargetArn"), str) or type(receives) is not int or not 1 <= receives <= 1000:
        say(f"{path.name} needs a 'deadLetterTargetArn' string and a 'maxReceiveCount' from 1 to 1000; not applied")
        return None
    return policy


def apply(endpoint, root: Path, say) -> None:
    outputs = bootstrap.stack_outputs(STACK, endpoint)
    sqs = aws.client("sqs", endpoint)
    policy = redrive_policy(root / EXERCISE, say)
    try:
        sqs.set_queue_attributes(QueueUrl=outputs["OrdersQueueUrl"],
                                 Attributes={"RedrivePolicy": json.dumps(policy) if policy else ""})
    except sqs.exceptions.ClientError as error:
        say(f"{EXERCISE.name} was refused by SQS: {error.response['Error']['Message']}")
    else:
        if policy:
            say(f"{EXERCISE.name} applied: after {policy['maxReceiveCount']} receives an order goes to "
                f"{policy['deadLetterTargetArn'].rsplit(':', 1)[-1]}")

    table = aws.resource("dynamodb", endpoint).Table(outputs["CatalogTable"])
    with table.batch_writer() as batch:
        for sku, price in CATALOG.items():
            batch.put_item(Item={"sku": sku, "price": Decimal(price)})

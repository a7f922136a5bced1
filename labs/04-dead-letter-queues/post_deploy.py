"""Applies lab 04's redrive policy (the exercise) and stocks the catalog after a deploy.

Why this exists: the exercise is the orders queue's redrive policy, written as a JSON file the
learner edits; this step puts it on the queue exactly as
`awslocal sqs set-queue-attributes --attributes RedrivePolicy=...` would. A file that still
holds its TODO leaves the queue without a redrive policy and says so, so `make check` can show
what is missing; one that does not parse or that SQS would refuse stops the deploy with the
reasons (`ExerciseRejected`) and leaves the queue as it was. It also puts the products that
good orders use into the catalog table (CloudFormation creates tables, not their items).
"""

import json
from decimal import Decimal
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from edalab import aws, bootstrap
from edalab.exercise_validation import ExerciseRejected, engine_refusal, read, redrive_policy_problems

LAB = "04"
STACK = "edalab-04-dead-letter-queues"
EXERCISE = Path("labs/04-dead-letter-queues/exercise/redrive-policy.json")
CATALOG = {"lamp": "12.50", "desk": "149.00", "chair": "89.90", "mug": "7.25"}


def apply(endpoint, root: Path, say) -> None:
    outputs = bootstrap.stack_outputs(STACK, endpoint)
    # The catalog first: a refused exercise file must not leave the lab without its products.
    table = aws.resource("dynamodb", endpoint).Table(outputs["CatalogTable"])
    with table.batch_writer() as batch:
        for sku, price in CATALOG.items():
            batch.put_item(Item={"sku": sku, "price": Decimal(price)})

    policy, problems = read(root / EXERCISE)
    if policy is not None:
        problems = redrive_policy_problems(policy)
    sqs = aws.client("sqs", endpoint)
    if not problems and policy is not None and not _queue_exists(sqs, policy["deadLetterTargetArn"]):
        problems = [f'"deadLetterTargetArn": "{policy["deadLetterTargetArn"]}" names no queue: copy the DLQ\'s ARN '
                    "from `awslocal sqs get-queue-attributes --queue-url $Q-dlq --attribute-names QueueArn`"]
    if problems:
        raise ExerciseRejected(LAB, [f"{EXERCISE.name}: {problem}" for problem in problems])
    if policy is None:
        say(f"{EXERCISE.name} still holds the exercise's TODO; the orders queue has no redrive policy")
    try:
        sqs.set_queue_attributes(
            QueueUrl=outputs["OrdersQueueUrl"], Attributes={"RedrivePolicy": json.dumps(policy) if policy else ""})
    except ClientError as error:
        raise ExerciseRejected(LAB, [f"{EXERCISE.name}: {engine_refusal(error)}"]) from error
    except BotoCoreError as error:
        raise bootstrap.DeployError(f"the engine did not answer while applying {EXERCISE.name}: {error}") from error
    if policy:
        say(f"{EXERCISE.name} applied: after {policy['maxReceiveCount']} receives an order goes to "
            f"{policy['deadLetterTargetArn'].rsplit(':', 1)[-1]}")


def _queue_exists(sqs, arn: str) -> bool:
    """AWS refuses a redrive policy whose target queue does not exist; the engine accepts it."""
    *_, account, name = arn.split(":")
    try:
        sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
    except ClientError:
        return False
    except BotoCoreError as error:
        raise bootstrap.DeployError(f"the engine did not answer while looking for {name}: {error}") from error
    return True

"""Moves the orders waiting in the DLQ back to the orders queue: the redrive button (lab 04).

Use it only after fixing what made the orders fail; otherwise they fail three more times and
come straight back. SQS does the moving itself (StartMessageMoveTask), in the background, at
the rate you allow, and keeps each message's body and attributes. The answer says how many
messages the task will move and the handle to follow or cancel it with.
"""

import os

import boto3

SQS = boto3.client("sqs")


def handler(event, context):
    dlq, source = os.environ["DLQ_ARN"], os.environ["SOURCE_ARN"]
    task = SQS.start_message_move_task(
        SourceArn=dlq,
        DestinationArn=source,  # omit it and SQS returns each message to the queue it came from
        MaxNumberOfMessagesPerSecond=int((event or {}).get("per_second", 50)),
    )
    return {"task_handle": task["TaskHandle"], "from": dlq, "to": source}

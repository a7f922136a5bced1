"""Publishes customers' order events to the FIFO topic edalab-order-events.fifo.

A FIFO topic keeps order *within a message group* and drops a message whose deduplication
id it has seen in the last five minutes. Which group and which id each event gets is the
whole design: this function decides both.
"""

import json
import os

import boto3

SNS = boto3.client("sns")
TOPIC_ARN = os.environ["TOPIC_ARN"]


def group_id(event):
    """Events of one customer must stay in order; different customers may go in parallel."""
    return event["customer"]


def deduplication_id(event):
    """The same business event, sent twice (a retry), must be delivered once."""
    return f"{event['customer']}:{event['seq']}"


def handler(event, context):
    published = 0
    for order_event in event["events"]:
        SNS.publish(
            TopicArn=TOPIC_ARN,
            Message=json.dumps(order_event),
            MessageGroupId=group_id(order_event),
            MessageDeduplicationId=deduplication_id(order_event),
        )
        published += 1
    return {"published": published}

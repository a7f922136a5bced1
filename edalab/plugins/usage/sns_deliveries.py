"""SNS deliveries per protocol, counted where SNS hands a notification to a subscriber.

Why this exists: SNS prices deliveries by protocol (to SQS and Lambda free, email, SMS and
HTTP each their own price: aws.amazon.com/sns/pricing, "Notification deliveries"), and only
the SQS and Lambda ones pass the gateway (email goes through SES, SMS to a store, HTTP straight
out). `PublishDispatcher._submit_notification` is where LocalStack hands one message (or, to
SQS, a batch) to one subscription after its filter policy matched; a subscription's
confirmation message is not a notification and is not counted.
"""

from __future__ import annotations

from edalab.plugins.usage.counters import UsageCounters

PROTOCOL_GROUPS = {"email-json": "email", "https": "http"}


def install_delivery_counting(store: UsageCounters) -> None:
    from localstack.services.sns.publisher import PublishDispatcher

    submit = PublishDispatcher._submit_notification
    to_phone_number = PublishDispatcher.publish_to_phone_number

    def submit_counted(self, notifier, ctx, subscriber):
        messages = getattr(ctx, "messages", None)
        if messages is None:
            messages = [ctx.message] if getattr(ctx.message, "type", "Notification") == "Notification" else []
        if messages:
            protocol = subscriber.get("Protocol", "")
            store.sns_delivery(PROTOCOL_GROUPS.get(protocol, protocol), len(messages))
        return submit(self, notifier, ctx, subscriber)

    def to_phone_number_counted(self, ctx, phone_number):
        store.sns_delivery("sms")
        return to_phone_number(self, ctx, phone_number)

    PublishDispatcher._submit_notification = submit_counted
    PublishDispatcher.publish_to_phone_number = to_phone_number_counted

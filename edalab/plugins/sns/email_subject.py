"""SNS email notifications carry the Publish call's Subject, as on AWS.

Why this exists: SNS's Publish takes a `Subject` that AWS documents as "the Subject line when
the message is delivered to email endpoints", and AWS writes "AWS Notification Message" when
the publisher gave none. LocalStack's email publishers (`EmailTopicPublisher`,
`EmailJsonTopicPublisher` in localstack/services/sns/publisher.py) hard-code the subject
`SNS-Subscriber-Endpoint` for every email, so every alarm, circuit-breaker and support email
in the labs looked the same in the inbox. This hook, run as the engine starts, puts our
subclasses of those two publishers in the dispatcher's table (a class attribute LocalStack
reads for every delivery); their `_publish` is LocalStack's with the subject taken from the
message. `EDALAB_STOCK_SERVICES=sns` leaves LocalStack's publishers in place.
"""

from __future__ import annotations

import logging

from localstack.runtime import hooks

from edalab.plugins import uses_stock
from edalab.plugins.on_import import when_imported

LOG = logging.getLogger(__name__)

DEFAULT_SUBJECT = "AWS Notification Message"  # what AWS writes when Publish had no Subject


def email_subject(message) -> str:
    """The Subject line of an SNS email: the Publish call's Subject, or AWS's default."""
    return getattr(message, "subject", None) or DEFAULT_SUBJECT


def _publish_with_subject(publisher, context, subscriber) -> None:
    """LocalStack's email `_publish` (publisher.py, EmailJsonTopicPublisher), with the subject
    the publisher gave instead of a fixed one."""
    from localstack import config
    from localstack.aws.connect import connect_to
    from localstack.utils.aws.arns import extract_account_id_from_arn, extract_region_from_arn

    endpoint = subscriber.get("Endpoint")
    if not endpoint:
        return
    topic = subscriber.get("TopicArn") or ""  # SES of the topic's account and region sends it
    ses = connect_to(aws_access_key_id=extract_account_id_from_arn(topic),
                     region_name=extract_region_from_arn(topic)).ses
    sender = config.SNS_SES_SENDER_ADDRESS or "admin@localstack.com"
    ses.verify_email_address(EmailAddress=endpoint)
    ses.verify_email_address(EmailAddress=sender)
    body = publisher.prepare_message(context.message, subscriber, topic_attributes=context.topic_attributes)
    ses.send_email(Source=sender, Destination={"ToAddresses": [endpoint]},
                   Message={"Body": {"Text": {"Data": body}}, "Subject": {"Data": email_subject(context.message)}})


def _publishers():
    from localstack.services.sns.publisher import EmailJsonTopicPublisher, EmailTopicPublisher

    class EmailWithSubject(EmailTopicPublisher):
        def _publish(self, context, subscriber):
            _publish_with_subject(self, context, subscriber)

    class EmailJsonWithSubject(EmailJsonTopicPublisher):
        def _publish(self, context, subscriber):
            _publish_with_subject(self, context, subscriber)

    return {"email": EmailWithSubject(), "email-json": EmailJsonWithSubject()}


def _use_our_email_publishers(publisher) -> None:
    publisher.PublishDispatcher.topic_notifiers.update(_publishers())


@hooks.on_infra_start()
def use_the_publishers_subject():
    if uses_stock("sns"):
        return
    when_imported("localstack.services.sns.publisher", _use_our_email_publishers)  # not at start: on_import.py
    LOG.info("edalab: SNS emails carry the Publish call's Subject")

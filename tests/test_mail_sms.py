"""`make mail` shows the SMS messages SNS sent, beside the emails: an alert topic's sms
subscription (lab 11's support-alerts texts a phone number) ends in the engine's record at
`/_aws/sns/sms-messages`, which `edalab.sms` reads for both `make mail` and the console."""

from __future__ import annotations

import random

from edalab import cli, sms
from edalab.waiting import wait_for


def test_an_sms_sent_through_a_topics_sms_subscription_is_listed_by_make_mail(engine, unique, capsys, monkeypatch):
    sns = engine.client("sns")
    phone = "+1555" + "".join(random.choices("0123456789", k=7))
    topic = sns.create_topic(Name=f"support-alerts-{unique}")["TopicArn"]
    try:
        sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint=phone)
        sns.publish(TopicArn=topic, Message=f"ALARM: feedback {unique} is in the dead-letter queue")
        sent = wait_for(lambda: [m for m in sms.read(engine.endpoint) if m.phone_number == phone],
                        what="the SMS in the engine's record", timeout=20)
        assert [(m.message, m.topic_name) for m in sent] == [
            (f"ALARM: feedback {unique} is in the dead-letter queue", f"support-alerts-{unique}")]

        monkeypatch.setenv("EDALAB_ENDPOINT", engine.endpoint)
        assert cli.main(["mail", "--last", "1000"]) == 0
        out = capsys.readouterr().out
        assert f"SMS to {phone}  via topic support-alerts-{unique}" in out
        assert f"ALARM: feedback {unique} is in the dead-letter queue" in out
        assert "/_aws/sns/sms-messages" in out
    finally:
        sns.delete_topic(TopicArn=topic)
        sms.delete(engine.endpoint, phone)
    assert not [m for m in sms.read(engine.endpoint) if m.phone_number == phone]  # the cleanup works

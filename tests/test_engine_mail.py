"""Email leaves the engine over real SMTP: an SNS email subscription and SES SendRawEmail
both end as messages in the host engine's Maildir (our mail relay plugin), readable with
edalab.mail and the `mail` command."""

from __future__ import annotations

import mailbox

import pytest

from edalab import cli, mail
from edalab.waiting import wait_for


@pytest.fixture
def host_engine(engine):
    if engine.host is None:
        pytest.skip("the SMTP relay is part of the host engine; a container engine keeps email in /_aws/ses")
    return engine


def _inbox_with(engine, text):
    return [m for m in mail.read_inbox(engine.endpoint) if text in m.body]


def test_sns_email_subscription_is_delivered_over_smtp_to_the_maildir(host_engine, unique):
    sns = host_engine.client("sns")
    topic = sns.create_topic(Name=f"alerts-{unique}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=f"ops-{unique}@edalab.local")
    long_line = "x" * 5000  # alarm bodies are one long JSON line; SMTP lines are limited to 1000
    sns.publish(TopicArn=topic, Message=f"disk full on {unique} {long_line}")

    found = wait_for(lambda: _inbox_with(host_engine, unique), what="the email in the Maildir", timeout=20)
    assert len(found) == 1
    assert found[0].source == "maildir"
    assert f"ops-{unique}@edalab.local" in found[0].to
    assert long_line in found[0].body
    box = mailbox.Maildir(mail.inbox_dir(), create=False)  # a real Maildir any client can open
    assert any(unique in box.get_string(key) for key in box.keys())


def test_ses_raw_email_is_delivered_too_and_listed_by_the_mail_command(host_engine, unique, capsys, monkeypatch):
    ses = host_engine.client("ses")
    ses.verify_email_address(EmailAddress="shop@edalab.local")
    raw = (f"From: shop@edalab.local\nTo: customer@edalab.local\nSubject: receipt {unique}\n\n"
           f"Thank you for order {unique}.\n").encode()
    ses.send_raw_email(Source="shop@edalab.local", Destinations=["customer@edalab.local"], RawMessage={"Data": raw})

    found = wait_for(lambda: _inbox_with(host_engine, unique), what="the raw email in the Maildir", timeout=20)
    assert found[0].subject == f"receipt {unique}"

    monkeypatch.setenv("EDALAB_ENDPOINT", host_engine.endpoint)
    assert cli.main(["mail", "--last", "50"]) == 0
    out = capsys.readouterr().out
    assert f"subject: receipt {unique}" in out and "Maildir" in out


def test_an_sns_email_has_the_publish_calls_subject_or_aws_default(host_engine, unique):
    """AWS: Publish's Subject is the email's subject line; without one it is "AWS Notification
    Message". Stock LocalStack writes "SNS-Subscriber-Endpoint" on every email."""
    sns = host_engine.client("sns")
    topic = sns.create_topic(Name=f"subjects-{unique}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=f"ops-{unique}@edalab.local")
    sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint=f"robot-{unique}@edalab.local")
    sns.publish(TopicArn=topic, Subject=f"Disk full on {unique}", Message=f"with subject {unique}")
    sns.publish(TopicArn=topic, Message=f"without subject {unique}")

    found = wait_for(lambda: _inbox_with(host_engine, unique), what="four emails in the Maildir", timeout=20,
                     until=lambda mails: len(mails) == 4)
    subjects = sorted((m.to.split("-")[0], m.subject) for m in found)
    assert subjects == [("ops", "AWS Notification Message"), ("ops", f"Disk full on {unique}"),
                        ("robot", "AWS Notification Message"), ("robot", f"Disk full on {unique}")]


def test_an_alarm_email_is_titled_as_on_aws(host_engine, unique):
    """AWS's alarm email: subject `ALARM: "<name>" in US East (N. Virginia)`, and the same long
    region name in the message's Region field."""
    sns, cloudwatch = host_engine.client("sns"), host_engine.client("cloudwatch")
    topic = sns.create_topic(Name=f"alarm-mail-{unique}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=f"oncall-{unique}@edalab.local")
    name = f"disk-{unique}"
    cloudwatch.put_metric_alarm(AlarmName=name, Namespace="EdaLab/Test", MetricName=f"Disk{unique}",
                                Statistic="Maximum", Period=60, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanThreshold", AlarmActions=[topic])
    try:
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="a test")
        found = wait_for(lambda: [m for m in mail.read_inbox(host_engine.endpoint) if f"oncall-{unique}" in m.to],
                         what="the alarm's email", timeout=20)
        assert found[0].subject == f'ALARM: "{name}" in US East (N. Virginia)'
        assert '"Region": "US East (N. Virginia)"' in found[0].body
    finally:
        cloudwatch.delete_alarms(AlarmNames=[name])

"""Deliveries the old state queued: S3 event notifications and SNS publishes not yet sent.

Why this exists: S3 sends its event notifications, and SNS its messages to subscribers, from
thread pools of their own, after the request that caused them has returned. One queued just
before a reset was delivered after it: an Invoke of a function the reset had removed, counted by
the usage meter as the engine's call in the new state. `stop()` gives each provider a new
dispatcher and retires the old one: what it had queued is dropped, what it was sending finishes
(into the old state, which the reset empties next), and its threads end.
"""

from __future__ import annotations

from edalab.plugins.reset import services


def _retire(service: str, attribute: str, make_new, shut_down) -> bool:
    """Puts a new dispatcher in the provider's `attribute` and shuts the old one down."""
    provider = services.provider(service)
    old = getattr(provider, attribute, None)
    if old is None:
        return False
    setattr(provider, attribute, make_new())
    shut_down(old)
    return True


def _new_s3_dispatcher():
    from localstack.services.s3.notifications import NotificationDispatcher

    return NotificationDispatcher()


def _new_sns_dispatcher():
    from localstack.services.sns.publisher import PublishDispatcher

    return PublishDispatcher()


def _drop_queued_sns(old) -> None:
    old.executor.shutdown(wait=True, cancel_futures=True)
    old.topic_partitioned_executor.shutdown(wait=True)


def stop() -> dict[str, bool]:
    return {
        "s3_notifications": _retire("s3", "_notification_dispatcher", _new_s3_dispatcher,
                                    lambda old: old.executor.shutdown(wait=True, cancel_futures=True)),
        "sns_publishes": _retire("sns", "_publisher", _new_sns_dispatcher, _drop_queued_sns),
    }

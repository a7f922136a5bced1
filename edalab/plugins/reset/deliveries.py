"""Deliveries the old state queued: S3 event notifications and SNS publishes not yet sent.

Why this exists: S3 sends its event notifications, and SNS its messages to subscribers, from
thread pools of their own, after the request that caused them has returned. One queued just
before a reset was delivered after it: an Invoke of a function the reset had removed, counted by
the usage meter as the engine's call in the new state. `stop()` gives each provider a new
dispatcher and retires the old one: what it had queued is dropped, what it was sending finishes
(into the old state, which the reset empties next), and its threads end. It runs twice: before
Lambda stops (while every target still answers), and after (what a function of the old state
published in between is dropped too).
"""

from __future__ import annotations

from edalab.plugins.reset import bounded, services

WAIT_SECONDS = 10.0  # for the deliveries under way, at most


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


def stop(wait: bool = True) -> dict[str, bool]:
    """Retires both dispatchers: queued deliveries are dropped; with `wait`, those under way have
    finished when it returns (without, they finish on their own: the second pass, after Lambda
    stopped, must not wait out a delivery to a stopped function's retries)."""
    def drop_s3(old) -> None:
        old.executor.shutdown(wait=False, cancel_futures=True)
        if wait:
            bounded.within(WAIT_SECONDS, lambda: old.executor.shutdown(wait=True), "S3 notifications under way")

    def drop_sns(old) -> None:
        old.executor.shutdown(wait=False, cancel_futures=True)
        old.topic_partitioned_executor.shutdown(wait=False)
        if wait:
            bounded.within(WAIT_SECONDS, lambda: (old.executor.shutdown(wait=True),
                                                  old.topic_partitioned_executor.shutdown(wait=True)),
                           "SNS publishes under way")

    return {"s3_notifications": _retire("s3", "_notification_dispatcher", _new_s3_dispatcher, drop_s3),
            "sns_publishes": _retire("sns", "_publisher", _new_sns_dispatcher, drop_sns)}

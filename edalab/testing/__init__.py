"""Helpers for testing event-driven flows on the local engine, at every level of the pyramid.

Why this exists: lab 10 teaches unit, contract, integration and end-to-end tests of the
earlier labs' flows, and the learner imports these instead of writing them again:

    from edalab.testing import LambdaContext, contracts, events, integration

- `events`: sample S3, SQS, SNS, API Gateway (REST proxy) and EventBridge events in AWS's shapes;
- `LambdaContext`: the context object a handler gets, for unit tests;
- `contracts`: JSON Schema validation with reasons that name the field at fault;
- `integration`: the engine's clients and outputs, and waits with a deadline (`eventually`,
  `wait_for_item`, `wait_for_object`, `wait_for_dead_letter`, `wait_for_log_line`).

This project's own tests use them too (tests/test_lab02_uploads.py).
"""

from edalab.testing import contracts, events, integration
from edalab.testing.context import LambdaContext

__all__ = ["LambdaContext", "contracts", "events", "integration"]

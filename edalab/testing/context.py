"""A stand-in for the `context` object Lambda passes a handler, for unit tests.

Why this exists: handlers (and Powertools' Logger) read `context.function_name`,
`context.aws_request_id` or `context.get_remaining_time_in_millis()`; passing `None` in a unit
test breaks them, and a mock accepts any misspelt attribute. This has exactly the attributes the
Python runtime documents ("Using the Lambda context object to retrieve Python function
information", https://docs.aws.amazon.com/lambda/latest/dg/python-context.html), with a clock
for the time left.

    from edalab.testing import LambdaContext

    context = LambdaContext("edalab-tested-processor", timeout_s=2)
    app.handler(event, context)
    context.get_remaining_time_in_millis()   # counts down from 2000 since it was made
"""

from __future__ import annotations

import time
import uuid

from edalab import settings


class LambdaContext:
    def __init__(self, function_name: str = "edalab-test-function", *, memory_mb: int = 128, timeout_s: float = 3.0,
                 version: str = "$LATEST"):
        self.function_name = function_name
        self.function_version = version
        self.invoked_function_arn = f"arn:aws:lambda:{settings.REGION}:{settings.ACCOUNT_ID}:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[{version}]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the function's timeout, never below 0 (as the runtime's)."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return f"LambdaContext({self.function_name!r}, request {self.aws_request_id})"

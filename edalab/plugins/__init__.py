"""LocalStack plugins that make the engine whole without Docker, and as AWS documents it.

LocalStack finds them through entry points (see pyproject.toml). They are grouped by the
service they fix: `lambda_/` (the local runtime executor, metrics, SQS polling), `dynamodb/`
(moto-backed DynamoDB), `ses/` (the mail relay), `sqs/` (metrics, a listing that misses no
message), `logs/`, `cloudwatch/` and `events/` (provider subclasses selected with
PROVIDER_OVERRIDE_<SERVICE>=edalab).

Nothing here imports LocalStack at package import time, because function processes import
this package too.

`EDALAB_STOCK_SERVICES=logs,cloudwatch,…` runs the engine with LocalStack's stock behaviour for
those services (our provider is not selected and our hooks for them stand aside). It exists so
that each engine test can be shown to fail on the stock engine, as the project requires.
"""

from __future__ import annotations

import os


def uses_stock(service: str) -> bool:
    """True when EDALAB_STOCK_SERVICES asks for LocalStack's own behaviour for `service`."""
    wanted = os.environ.get("EDALAB_STOCK_SERVICES", "")
    return service in {name.strip() for name in wanted.split(",") if name.strip()}

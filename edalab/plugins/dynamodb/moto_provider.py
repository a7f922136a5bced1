"""LocalStack DynamoDB provider `moto`: DynamoDB served by the moto library in-process.

Why this exists: LocalStack's stock DynamoDB runs DynamoDB Local, which it downloads (Java 21
and a jar) the first time a table is touched; that cannot work offline. moto ships inside
LocalStack (`moto-ext`) and implements the DynamoDB API the labs use: tables and indexes,
item CRUD, condition and update expressions, queries, scans, batches and transactions.

Select it with PROVIDER_OVERRIDE_DYNAMODB=moto. Every operation falls through to moto.

One lock serialises the operations: moto applies an update's actions one after the other on
a shared in-memory table and checks a condition before it writes, without locking. Under
concurrent requests (several Lambda processes, say) a scan could see a half-applied update,
and two conditional writes could both pass `attribute_not_exists` — which breaks the
idempotency pattern the labs teach. DynamoDB makes each item operation atomic; the lock gives
the same guarantee here, at the cost of throughput no workshop needs.
"""

from __future__ import annotations

import threading

from localstack.aws.api.dynamodb import DynamodbApi
from localstack.services.moto import MotoFallbackDispatcher
from localstack.services.plugins import ServiceLifecycleHook
from localstack.state import StateVisitor


class MotoDynamoDBProvider(DynamodbApi, ServiceLifecycleHook):
    """Implements nothing itself: the dispatcher forwards every operation to moto."""

    def accept_state_visitor(self, visitor: StateVisitor) -> None:
        from moto.dynamodb.models import dynamodb_backends

        visitor.visit(dynamodb_backends)


def _serialised(handler, lock):
    def call(context, request):
        with lock:
            return handler(context, request)

    return call


def serialised_moto_dispatcher(provider) -> dict:
    """moto's dispatch table with every operation under one lock."""
    lock = threading.RLock()
    return {op: _serialised(handler, lock) for op, handler in MotoFallbackDispatcher(provider).items()}

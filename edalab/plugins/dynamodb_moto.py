"""LocalStack DynamoDB provider `moto`: DynamoDB served by the moto library in-process.

Why this exists: LocalStack's stock DynamoDB runs DynamoDB Local, which it downloads (Java 21
and a jar) the first time a table is touched; that cannot work offline. moto ships inside
LocalStack (`moto-ext`) and implements the DynamoDB API the labs use: tables and indexes,
item CRUD, condition and update expressions, queries, scans, batches and transactions.

Select it with PROVIDER_OVERRIDE_DYNAMODB=moto. Every operation falls through to moto;
state is moto's, so LocalStack's state reset (`make reset`) empties it too.
"""

from __future__ import annotations

from localstack.aws.api.dynamodb import DynamodbApi
from localstack.services.moto import MotoFallbackDispatcher
from localstack.services.plugins import Service, ServiceLifecycleHook, aws_provider
from localstack.state import StateVisitor


class MotoDynamoDBProvider(DynamodbApi, ServiceLifecycleHook):
    """Implements nothing itself: the dispatcher forwards every operation to moto."""

    def accept_state_visitor(self, visitor: StateVisitor) -> None:
        from moto.dynamodb.models import dynamodb_backends

        visitor.visit(dynamodb_backends)


@aws_provider(api="dynamodb", name="moto")
def dynamodb_moto() -> Service:
    return Service.for_provider(MotoDynamoDBProvider(), dispatch_table_factory=MotoFallbackDispatcher)

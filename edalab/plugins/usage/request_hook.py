"""The handler-chain hooks that count every call the engine serves.

Why this exists: LocalStack passes every request, from outside or from its own internal
clients, through one handler chain (`localstack.aws.app.LocalstackAwsGateway`). Its response
handlers run after the service answered and after `parse_service_response`, so the parsed
request and response are already there: `count_response` (appended to
`handlers.run_custom_response_handlers`) reads them and never parses a body itself.
`remember_item_before` (appended to `handlers.serve_custom_service_request_handlers`, which
runs after the request is parsed and before the service) notes a DynamoDB item's size before a
write, because a write is billed on the larger of the item before and after.

Cost per request: an attribute check, a header lookup, one lock and a few dict increments; the
billing rules read only the parsed fields they need.
"""

from __future__ import annotations

import logging

from edalab.plugins.usage import billing
from edalab.plugins.usage.callers import caller_of
from edalab.plugins.usage.counters import STORE, UsageCounters

LOG = logging.getLogger(__name__)

_ITEM_BEFORE = "_edalab_item_before"  # a RequestContext attribute: the item's size before a write
_SINGLE_WRITES = ("PutItem", "UpdateItem", "DeleteItem")


def _is_apigateway_invocation(request) -> bool:
    """An API Gateway invocation: LocalStack serves them on `<api>.execute-api.<host>` and on
    the paths `/_aws/execute-api/…` and `/restapis/<api>/<stage>/_user_request_/…`."""
    return (".execute-api." in request.host or request.path.startswith("/_aws/execute-api/")
            or "/_user_request_" in request.path)


def _stored_item_size(context, table: str, key: dict) -> int:
    """The size of the item with `key` (or an item carrying its key) as the table holds it now."""
    from moto.dynamodb.models import dynamodb_backends

    try:
        item = dynamodb_backends[context.account_id][context.region].get_item(table, key)
    except Exception:  # no such table, a malformed key: the service answers that itself
        return 0
    return billing.item_size(item.to_json()["Attributes"]) if item else 0


def remember_item_before(chain, context, response) -> None:
    operation = context.operation
    if operation is None or operation.name not in _SINGLE_WRITES or context.service.service_name != "dynamodb":
        return
    request = context.service_request or {}
    key = request.get("Key") or request.get("Item") or {}
    setattr(context, _ITEM_BEFORE, _stored_item_size(context, request.get("TableName", ""), key))


def _dynamodb_usage(store: UsageCounters, context, operation: str, request: dict, response: dict,
                    failed: bool) -> None:
    table = request.get("TableName", "")
    if operation in _SINGLE_WRITES:
        exception = context.service_exception
        # a condition that failed still consumes the write (DynamoDB developer guide,
        # "Condition expressions": "a failed conditional write ... consumes write capacity")
        if failed and getattr(exception, "code", "") != "ConditionalCheckFailedException":
            return
        before = getattr(context, _ITEM_BEFORE, 0)
        after = 0 if failed or operation == "DeleteItem" else (
            billing.item_size(request.get("Item")) if operation == "PutItem"
            else _stored_item_size(context, table, request.get("Key") or {}))
        store.dynamodb_units(table, write=billing.write_units(max(before, after)))
        return
    if failed:
        return
    if operation == "GetItem":
        size = billing.item_size(response.get("Item"))
        store.dynamodb_units(table, read=billing.read_units(size, bool(request.get("ConsistentRead"))))
    elif operation in ("Query", "Scan"):
        # a query or scan is billed on the total size of the items it read, rounded up once
        size = sum(billing.item_size(item) for item in response.get("Items") or ())
        store.dynamodb_units(table, read=billing.read_units(size, bool(request.get("ConsistentRead"))))
    elif operation == "BatchGetItem":
        asked = request.get("RequestItems") or {}
        for name, items in (response.get("Responses") or {}).items():
            consistent = bool((asked.get(name) or {}).get("ConsistentRead"))
            store.dynamodb_units(name, read=sum(billing.read_units(billing.item_size(i), consistent) for i in items))
    elif operation == "BatchWriteItem":
        for name, writes in (request.get("RequestItems") or {}).items():
            units = sum(billing.write_units(billing.item_size((w.get("PutRequest") or {}).get("Item"))) for w in writes)
            store.dynamodb_units(name, write=units)
    elif operation == "TransactGetItems":
        answers = response.get("Responses") or ()
        for asked, answer in zip(request.get("TransactItems") or (), answers):
            get = asked.get("Get") or {}
            units = billing.read_units(billing.item_size((answer or {}).get("Item")), True, transactional=True)
            store.dynamodb_units(get.get("TableName", ""), read=units)
    elif operation == "TransactWriteItems":
        for asked in request.get("TransactItems") or ():
            ((kind, body),) = asked.items()
            size = billing.item_size(body.get("Item")) if kind == "Put" else 0
            store.dynamodb_units(body.get("TableName", ""), write=billing.write_units(size, transactional=True))


# Whose S3 requests, DynamoDB units and EventBridge events go into the per-service sections: not
# the engine's own (LocalStack keeps Lambda code in S3 and sends AWS services' events itself;
# neither is billed on AWS) and not the console's (an open tab must not change a run's cost).
# Their calls still show in the request rows, under their caller.
UNMETERED_CALLERS = ("engine", "console")


def _service_usage(store: UsageCounters, context, service: str, operation: str, caller: str) -> tuple[int, bool]:
    """Counts what the call adds beyond the request itself; returns (billable, empty receive)."""
    request = context.service_request or {}
    metered = caller not in UNMETERED_CALLERS
    failed = context.service_exception is not None
    response = {} if failed else (context.service_response or {})
    if service == "sqs":  # a refused call carries no payload and is no empty receive
        return (1, False) if failed else billing.sqs_billable(operation, request, response)
    if service == "sns" and operation in ("Publish", "PublishBatch") and not failed:
        messages, billable = billing.sns_publish(operation, request)
        store.sns_publish(messages, billable)
        return billable, False
    if service == "events" and operation == "PutEvents":
        accepted = [entry for entry, result in zip(request.get("Entries") or (), response.get("Entries") or ())
                    if not result.get("ErrorCode")]
        billable = billing.events_billable(accepted)
        if metered:
            store.events_put(len(accepted), billable)
        return max(1, billable), False
    if not metered and service in ("s3", "dynamodb"):
        return 1, False
    if service == "s3":
        store.s3_request(billing.s3_tier(operation, context.request.method))
    elif service == "dynamodb":
        _dynamodb_usage(store, context, operation, request, response, failed)
    elif service == "logs" and operation == "PutLogEvents" and not failed:
        events = request.get("logEvents") or ()
        size = sum(billing.utf8_length(event.get("message")) for event in events)
        store.log_ingestion(request.get("logGroupName", ""), size, len(events))
    return 1, False


def count_response(chain, context, response) -> None:
    operation = context.operation
    if operation is None:
        if _is_apigateway_invocation(context.request):
            STORE.apigateway_request()
        return
    service = context.service.service_name
    caller, billable, empty = "client", 1, False
    try:  # counting must never break a request: a failure is logged and counted as a plain call
        caller = caller_of(context, service)
        billable, empty = _service_usage(STORE, context, service, operation.name, caller)
        internal = context.internal_request_params
        if internal and internal.get("service_principal") == "events":
            STORE.event_delivery()  # an EventBridge rule's target call
    except Exception:
        LOG.exception("edalab usage: could not count %s.%s", service, operation.name)
    STORE.request(service, operation.name, caller, billable, empty)

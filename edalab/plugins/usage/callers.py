"""Who made a request: a client, the console, a function, an event source mapping, the engine.

Why this exists: lab 08 prices a flow by who calls what (a mapping's empty polls cost money
too). The marks it reads:
- the console's and every function process's boto3 clients set an SDK app id
  (`AWS_SDK_UA_APP_ID` / `Config(user_agent_appid=…)`), which boto3 sends in the User-Agent as
  `app/edalab-console` or `app/edalab-function.<name>` (`APP_ID_*` below);
- LocalStack's internal clients send their request parameters in a header (`x-localstack-data`)
  that its handler chain loads into `context.internal_request_params`: an event source
  mapping's poller sends `service_principal` "lambda" with `source_arn` the function's ARN, and
  its Invoke (marked by `lambda_billing.mark_mapping_invokes`) the queue's ARN. The mapping's UUID is
  the one in Lambda's store that joins that function and that queue.
Anything else internal (SNS and EventBridge deliveries, Lambda writing a function's logs) is the
"engine"; anything unmarked from outside is a "client".
"""

from __future__ import annotations

APP_ID_PREFIX = "app/edalab-"
APP_ID_CONSOLE = "edalab-console"
APP_ID_FUNCTION = "edalab-function."  # + the function's name ([A-Za-z0-9-_], all allowed in an app id)


def function_app_id(function_name: str) -> str:
    return APP_ID_FUNCTION + function_name


def caller_from_user_agent(user_agent: str) -> str:
    start = user_agent.find(APP_ID_PREFIX)
    if start < 0:
        return "client"
    end = user_agent.find(" ", start)
    app_id = user_agent[start + 4:end if end >= 0 else None]
    if app_id == APP_ID_CONSOLE:
        return "console"
    if app_id.startswith(APP_ID_FUNCTION):
        return "function:" + app_id[len(APP_ID_FUNCTION):]
    return "client"


def mapping_of(service: str, request: dict, source_arn: str) -> str | None:
    """The UUID of the event source mapping that made this call, or None."""
    from localstack.services.lambda_.invocation.models import lambda_stores

    parts = source_arn.split(":")
    if len(parts) < 6:
        return None
    account, region = parts[4], parts[3]
    mappings = lambda_stores[account][region].event_source_mappings
    if service == "sqs":  # a poll: source = the function, the queue is in the request
        queue = request.get("QueueUrl") or ""
        name = queue.rstrip("/").rsplit("/", 1)[-1]
        for uuid, mapping in list(mappings.items()):
            if mapping.get("FunctionArn") == source_arn and mapping.get("EventSourceArn", "").endswith(":" + name):
                return uuid
    elif service == "lambda":  # an Invoke: source = the queue, the function is in the request
        function = request.get("FunctionName") or ""
        for uuid, mapping in list(mappings.items()):
            if mapping.get("EventSourceArn") == source_arn and (
                    mapping.get("FunctionArn") == function or mapping.get("FunctionArn", "").split(":")[6] == function):
                return uuid
    return None


def caller_of(context, service: str) -> str:
    internal = context.internal_request_params
    if internal is None:
        return caller_from_user_agent(context.request.headers.get("User-Agent", ""))
    if internal.get("service_principal") == "lambda" and (source_arn := internal.get("source_arn")):
        uuid = mapping_of(service, context.service_request or {}, source_arn)
        if uuid:
            return "mapping:" + uuid
    return "engine"

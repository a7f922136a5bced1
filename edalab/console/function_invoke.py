"""The Functions page's invoke form: check the payload, invoke synchronously, show what came back.

Why this exists: a learner tries a function by hand with a JSON event. The form must say
plainly what is wrong with a payload (not JSON, too big) instead of failing, and show what
`Invoke` answered: the status code, the function's error if it raised, its result and the
tail of its log (`LogType=Tail` gives the last 4 KB, base64-encoded).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from edalab.console.forms import Refused, read_form

MAX_PAYLOAD = 256 * 1024  # bytes; the console's limit for a payload typed into a form
# An invocation is sent once (a retried RequestResponse invoke runs the function twice) and may
# take as long as Lambda's longest timeout, 900 s.
INVOKE_CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=905)
_invoke_clients: dict[str, object] = {}


def invoke_client(endpoint: str):
    """The Lambda client the invoke form uses (built once per engine endpoint)."""
    from edalab import aws

    if endpoint not in _invoke_clients:
        _invoke_clients[endpoint] = aws.client("lambda", endpoint, INVOKE_CONFIG)
    return _invoke_clients[endpoint]


@dataclass
class InvokeResult:
    request_id: str | None
    status_code: int
    function_error: str | None  # "Unhandled" when the function raised
    result: str  # the payload it returned, pretty-printed when it is JSON
    log_tail: str


async def read_payload(request) -> str:
    """The `payload` field of the posted form; a body far over the limit is refused unread."""
    fields = await read_form(request, 4 * MAX_PAYLOAD)  # url-encoding can triple a JSON text
    return fields.get("payload", "")


def check_payload(text: str) -> str:
    """The payload as compact JSON text, or Refused."""
    size = len(text.encode())
    if size > MAX_PAYLOAD:
        raise Refused(f"The payload is {size / 1024:.0f} KB; the console sends at most {MAX_PAYLOAD // 1024} KB.", 413)
    if not text.strip():
        raise Refused("The payload is empty: type a JSON event, for example {} or {\"hello\": \"world\"}.")
    try:
        return json.dumps(json.loads(text))
    except ValueError as error:
        raise Refused(f"The payload is not JSON: {error}. Example: {{\"hello\": \"world\"}}.") from None


def invoke(lam, name: str, payload: str) -> InvokeResult:
    """Invokes `name` synchronously (RequestResponse) with its log tail."""
    try:
        answer = lam.invoke(FunctionName=name, InvocationType="RequestResponse", LogType="Tail", Payload=payload.encode())
    except ClientError as error:  # e.g. the function is still being created, or throttled
        said = error.response.get("Error", {})
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 502
        raise Refused(f"Lambda refused the invocation: {said.get('Code')}: {said.get('Message')}",
                         status if 400 <= status < 500 else 502) from None
    except BotoCoreError as error:  # no answer in time, or the engine went away
        raise Refused(f"The invocation got no answer: {error}. `make status` shows whether the engine runs.",
                      504) from None
    body = answer["Payload"].read().decode("utf-8", errors="replace")
    try:
        shown = json.dumps(json.loads(body), indent=2) if body else "(no result)"
    except ValueError:
        shown = body
    tail = base64.b64decode(answer.get("LogResult") or "").decode("utf-8", errors="replace")
    headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return InvokeResult(headers.get("x-amzn-requestid"), answer["StatusCode"], answer.get("FunctionError"), shown, tail)

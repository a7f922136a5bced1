"""Each invocation's X-Ray trace header (`Lambda-Runtime-Trace-Id`, which the runtime puts in
`_X_AMZN_TRACE_ID`), decided as Lambda decides it.

Why this exists (what AWS documents, what LocalStack 2026.3's `ExecutionEnvironment.invoke` does):
- Lambda's tracing mode decides sampling when the caller made no decision: `PassThrough` (the
  default) traces only what an upstream service sampled, so an unsampled invoke runs with
  `Sampled=0`; `Active` samples it itself (`Sampled=1`; AWS's default rule samples the first request
  each second and 5 % of the rest, here every request). A caller's own decision (`Sampled=0|1` in its
  `X-Amzn-Trace-Id`) is respected in both modes. LocalStack ignores the mode (its code says "TODO:
  test and implement Active and PassThrough tracing and sampling decisions") and overwrites every
  decision with `Sampled=1`.
- API Gateway passes its request's trace header to the Lambda integration, so the function's trace
  continues the API's (same Root). LocalStack's API Gateway puts that header in the proxy event's
  `headers` but invokes the function without it, so the function starts an unrelated trace. Here an
  invocation that came with no trace header (LocalStack's gateway then makes up a bare Root, with no
  Parent and no sampling decision) whose payload is an API Gateway proxy event takes that header's
  Root (sampling still follows the rule above, unless API Gateway said `Sampled=1`).
- SQS: an invocation by an event source mapping starts a new trace, as on AWS, where the consumer's
  trace is *linked* to the producer's rather than continued; the producer's header reaches the
  function as the record's `attributes.AWSTraceHeader`, which LocalStack already records (a function's
  boto3 call sends `X-Amzn-Trace-Id` from `_X_AMZN_TRACE_ID`) and our poller already asks for. The
  link itself is drawn by the X-Ray service, which the community engine does not have.
- `Parent` is the function's own segment id, new for each invocation.

`install()` wraps `ExecutionEnvironment.invoke` (which builds the payload our executor receives) so
that it uses `invocation_header()`'s header; the executor plugin calls it when LocalStack loads the
executor. With EDALAB_STOCK_SERVICES=lambda nothing is changed.
"""

from __future__ import annotations

import json
import logging
import os
import time

LOG = logging.getLogger(__name__)
ACTIVE = "Active"


def parse(header: str | None) -> dict[str, str]:
    """`Root=1-…;Parent=…;Sampled=1` as a dict (unknown or malformed parts are dropped)."""
    parts = {}
    for part in (header or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key in ("Root", "Parent", "Sampled", "Lineage") and value:
            parts[key] = value
    return parts


def new_root() -> str:
    return f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"


def api_gateway_header(payload: str | bytes | None) -> str | None:
    """The `X-Amzn-Trace-Id` header of an API Gateway proxy event, if the payload is one."""
    if not payload:
        return None
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    if '"requestContext"' not in text or "trace-id" not in text.lower():
        return None
    try:
        event = json.loads(text)
    except ValueError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("requestContext"), dict):
        return None
    if not (event["requestContext"].get("apiId") or event["requestContext"].get("domainName")):
        return None
    for name, value in (event.get("headers") or {}).items():
        if name.lower() == "x-amzn-trace-id" and isinstance(value, str):
            return value
    return None


def invocation_header(upstream: str | None, tracing_mode: str | None, payload: str | bytes | None = None) -> str:
    """The header the function's runtime gets for this invocation."""
    given = parse(upstream)
    sampled = given.get("Sampled") if given.get("Sampled") in ("0", "1") else None
    if not (given.get("Parent") or given.get("Sampled")):
        # no caller's header (LocalStack's gateway then makes up a bare Root): API Gateway's, if any
        from_api = parse(api_gateway_header(payload))
        if from_api.get("Root"):
            given = {"Root": from_api["Root"]}
            sampled = "1" if from_api.get("Sampled") == "1" else None
    if sampled is None:
        sampled = "1" if tracing_mode == ACTIVE else "0"
    header = f"Root={given.get('Root') or new_root()};Parent={os.urandom(8).hex()};Sampled={sampled}"
    if given.get("Lineage"):
        header += f";Lineage={given['Lineage']}"
    return header


def install() -> None:
    """Makes LocalStack's execution environments hand our executor `invocation_header()`'s header.

    It wraps `ExecutionEnvironment.invoke` (whatever wrappers are already there, e.g. the
    concurrency gauge of `metrics.py`, keep working, in either order): the decided header goes into
    the invocation's trace context as a header LocalStack cannot overwrite (its `invoke` forces
    `Sampled=1` and a random Parent onto whatever it finds there)."""
    from edalab.plugins import uses_stock

    if uses_stock("lambda"):
        return
    from localstack.services.lambda_.invocation.execution_environment import ExecutionEnvironment
    from localstack.utils.xray.trace_header import TraceHeader

    if getattr(ExecutionEnvironment.invoke, "edalab_trace_header", False):
        return

    class DecidedHeader(TraceHeader):
        """A header whose sampling decision and parent are final."""

        def ensure_sampled_exists(self, sampled=None):
            return self

        def ensure_parent_exists(self):
            return self

    previous = ExecutionEnvironment.invoke

    def invoke(self, invocation):
        context = invocation.trace_context if invocation.trace_context is not None else {}
        upstream = context.get("aws_trace_header")
        header = invocation_header(upstream.to_header_str() if upstream else None,
                                   str(self.function_version.config.tracing_config_mode or ""),
                                   invocation.payload)
        context["aws_trace_header"] = DecidedHeader.from_header_str(header)
        invocation.trace_context = context
        return previous(self, invocation)

    invoke.edalab_trace_header = True
    ExecutionEnvironment.invoke = invoke
    LOG.info("edalab: Lambda invocations get trace headers by their TracingConfig mode and continue API Gateway's")

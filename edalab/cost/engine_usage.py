"""The engine's own endpoints lab 08 reads: usage counters and the Lambda CPU share.

Why this exists: a run zeroes the counters (`DELETE /_edalab/usage`), reads them while it waits
(a GET is not an AWS call, so watching does not add to what is measured), captures them at the
end, and asks `/_edalab/lambda/cpu` whether memory buys CPU on this machine. A stock LocalStack,
or an EDA Lab engine started before these endpoints existed, answers 404: that is said plainly
(`EngineLacksUsage`), with what to do.
"""

from __future__ import annotations

from edalab.http_call import http

VCPU_PER_MB = 1 / 1769  # Lambda: 1,769 MB buys one full vCPU
FORMULA = "vCPU = memory MB ÷ 1,769"


class EngineLacksUsage(RuntimeError):
    """The engine has no usage endpoint: stock LocalStack, or started before EDA Lab had it."""


def _call(endpoint: str, path: str, method: str = "GET") -> dict | None:
    """The endpoint's JSON document, or None where the engine does not serve it."""
    reply = http(method, endpoint.rstrip("/") + path, timeout=10)
    if reply.status >= 500:
        raise OSError(f"{method} {path} answered {reply.status}: {reply.text[:200]} (see `make logs`)")
    # A stock engine takes the path for S3: a bucket error (404 or 400), or for DeleteObject, which
    # answers `DELETE /_edalab/usage` with 200 and no body.
    found = reply.status < 300 and isinstance(reply.body, dict) and reply.body
    return reply.body if found else None


def _usage(endpoint: str, method: str) -> dict:
    doc = _call(endpoint, "/_edalab/usage", method)
    if doc is None:
        raise EngineLacksUsage(f"the engine at {endpoint} has no usage counters (no /_edalab/usage): it is "
                               "stock LocalStack, or an EDA Lab engine started before they existed. "
                               "`make down && make up` starts the current one")
    return doc


def usage(endpoint: str) -> dict:
    return _usage(endpoint, "GET")


def reset_usage(endpoint: str) -> dict:
    return _usage(endpoint, "DELETE")


def cpu_share(endpoint: str) -> dict:
    """The engine's answer, or mode "unavailable" when it has no such endpoint."""
    doc = _call(endpoint, "/_edalab/lambda/cpu")
    if doc is None:
        return {"mode": "unavailable", "detail": "this engine has no /_edalab/lambda/cpu", "opt_in": "",
                "vcpu_per_mb": VCPU_PER_MB}
    return doc


def requests_of(usage_doc: dict, service: str, operation: str | None = None, caller: str | None = None) -> int:
    """How many calls the usage document counts for a service (an operation, a caller)."""
    return sum(row.get("count", 0) for row in usage_doc.get("requests") or []
               if row.get("service") == service and operation in (None, row.get("operation"))
               and caller in (None, row.get("caller")))

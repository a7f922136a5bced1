"""`GET`/`DELETE /_edalab/usage`: the usage document, and starting the count again.

Why this exists: lab 08's experiments read the counts at the end of a run and zero them at its
start; `make usage` prints them. The path is ours (`/_localstack/…` answers 404 for routes
LocalStack does not know). Any other method is refused with 405 and the reason.
"""

from __future__ import annotations

from edalab.plugins.usage.counters import UsageCounters

PATH = "/_edalab/usage"


def usage_route(store: UsageCounters):
    from localstack.http import Response

    def serve_usage(request, **_ignored):
        if request.method == "GET":
            return Response.for_json(store.document())
        if request.method == "DELETE":
            return Response.for_json({"since": store.reset()})
        return Response.for_json(
            {"error": "MethodNotAllowed",
             "message": f"{request.method} is not served here: GET {PATH} reads the usage counters, "
                        f"DELETE {PATH} zeroes them."},
            status=405, headers={"Allow": "GET, DELETE"})

    return serve_usage

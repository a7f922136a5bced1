"""`POST /_edalab/reset`: the engine empties every service's state in place, without a restart.

Why this exists: `make reset` (and the snapshot's restore after it) needs a clean engine in well
under a second, where restarting the process takes seconds. The path is ours (`/_localstack/…`
answers 404 for routes LocalStack does not know). The answer is JSON: what was emptied and how
long each part took (`engine_reset.reset_engine`). Any other method is refused with 405 and the reason.
"""

from __future__ import annotations

PATH = "/_edalab/reset"


def serve_reset(request, **_ignored):
    from localstack.http import Response

    if request.method != "POST":
        return Response.for_json(
            {"error": "MethodNotAllowed",
             "message": f"{request.method} is not served here: POST {PATH} empties every service's state "
                        "(queues, functions, tables, buckets, alarms, rules, logs, email) without restarting "
                        "the engine."},
            status=405, headers={"Allow": "POST"})
    from edalab.plugins.reset.engine_reset import reset_engine

    document = reset_engine()
    return Response.for_json(document, status=200 if not document["errors"] else 500)

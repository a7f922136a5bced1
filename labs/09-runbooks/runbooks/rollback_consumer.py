"""Runbook: roll the consumer's configuration back to the last good one.

    python labs/09-runbooks/runbooks/rollback_consumer.py [--dry-run]

Every configuration change to the consumer is written to the change log
`<state dir>/lab09/deploys.jsonl` (the drills write there as a deploy pipeline would) with the
environment before and after. This script restores the `before` of the newest change that is not
yet rolled back. On AWS the same idea is `aws lambda update-alias --function-version <previous>`
for a code release, or restoring the previous environment for a configuration change.
See rollback_consumer.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _shared as shared  # noqa: E402


def main(argv: list[str] | None = None, say=print) -> int:
    args = shared.arguments("Roll the consumer back to its last good configuration.", argv)
    book = shared.Runbook("roll back the consumer", args.endpoint, args.dry_run, say)
    book.step(f"Read the change log {shared.deploys_path()}")
    changes = shared.read_deploys()
    open_changes = [c for c in changes if not c.get("rolled_back")]
    if not open_changes:
        book.note("no change to roll back: the consumer runs what the stack deployed")
        return book.done("`make check LAB=09`")
    change = open_changes[-1]
    book.note(f"newest change: {change['at']} {change['what']}")
    book.step("Compare with what runs now")
    book.say(f"   $ lambda.get_function_configuration(FunctionName={shared.CONSUMER!r})")
    if not args.dry_run:
        now = shared.aws.client("lambda", args.endpoint).get_function_configuration(
            FunctionName=shared.CONSUMER)["Environment"]["Variables"]
        differs = {k: (now.get(k), v) for k, v in change["before"].items() if now.get(k) != v}
        book.note(f"to restore (now, good): {json.dumps(differs)}")
    book.step("Restore the good environment")
    book.call("lambda", "update_function_configuration", FunctionName=shared.CONSUMER,
              Environment={"Variables": change["before"]})
    book.wait(lambda: shared.aws.client("lambda", args.endpoint).get_function_configuration(
        FunctionName=shared.CONSUMER)["LastUpdateStatus"], lambda s: s == "Successful", "the update to finish", 60)
    if not args.dry_run:
        shared.mark_rolled_back(change)
    book.note("(the mapping stays as it is: if the breaker opened, close it with circuit_breaker.py resume)")
    return book.done("`awslocal lambda get-function-configuration --function-name edalab-runbook-consumer "
                     "--query Environment.Variables` shows the good RELEASE and ORDERS_TABLE")


if __name__ == "__main__":
    sys.exit(shared.run_main(main))

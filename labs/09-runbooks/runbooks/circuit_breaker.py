"""Runbook: pause or resume the consumer (open or close the circuit breaker).

    python labs/09-runbooks/runbooks/circuit_breaker.py pause|resume [--dry-run] [--force]

Pausing disables the consumer's event source mapping: the mapping stops receiving, so orders
wait in the queue, unharmed, instead of failing three times and landing in the DLQ. Resuming
enables it again, but first checks the cause is gone (the consumer runs a release that is not
marked bad and writes to the lab's table); `--force` skips that check. See circuit_breaker.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _shared as shared  # noqa: E402


def cause_still_there(endpoint: str) -> str | None:
    env = shared.aws.client("lambda", endpoint).get_function_configuration(
        FunctionName=shared.CONSUMER)["Environment"]["Variables"]
    if env.get("RELEASE", "").endswith("-bad"):
        return f"the consumer still runs the bad release {env['RELEASE']}: run rollback_consumer.py first"
    if env.get("ORDERS_TABLE") != shared.TABLE:
        return f"the consumer still writes to {env.get('ORDERS_TABLE')}: the downstream is not back (rollback_consumer.py)"
    return None


def main(argv: list[str] | None = None, say=print) -> int:
    def extra(parser):
        parser.add_argument("action", choices=["pause", "resume"])
        parser.add_argument("--force", action="store_true", help="resume even if the cause looks unfixed")

    args = shared.arguments("Pause or resume the consumer (circuit breaker).", argv, extra)
    book = shared.Runbook(f"circuit breaker: {args.action} the consumer", args.endpoint, args.dry_run, say)
    book.step("Find the consumer's event source mapping")
    book.say(f"   $ lambda.list_event_source_mappings(FunctionName={shared.CONSUMER!r})")
    uuid = "<mapping UUID>" if args.dry_run else shared.mapping(args.endpoint)["UUID"]
    book.note(f"mapping {uuid}")
    if args.action == "pause":
        book.step("Disable it: the queue keeps the orders until you resume")
        book.call("lambda", "update_event_source_mapping", UUID=uuid, Enabled=False)
        book.wait(lambda: shared.mapping(args.endpoint)["State"], lambda s: s == "Disabled",
                  "the mapping to be Disabled", 30, show=lambda s: f"mapping state: {s}")
        return book.done("`awslocal lambda list-event-source-mappings --function-name edalab-runbook-consumer "
                         "--query 'EventSourceMappings[0].State'` says \"Disabled\"")
    book.step("Confirm the cause is fixed before closing the breaker")
    book.say(f"   $ lambda.get_function_configuration(FunctionName={shared.CONSUMER!r})")
    if not args.dry_run:
        problem = cause_still_there(args.endpoint)
        if problem and not args.force:
            raise RuntimeError(f"not resuming: {problem} (or --force)")
        book.note(problem or "the consumer runs a good release against the lab's table")
    book.step("Enable the mapping")
    book.call("lambda", "update_event_source_mapping", UUID=uuid, Enabled=True)
    book.wait(lambda: shared.mapping(args.endpoint)["State"], lambda s: s == "Enabled",
              "the mapping to be Enabled", 30, show=lambda s: f"mapping state: {s}")
    book.step("Watch the queue go down (the orders that waited are processed now)")
    book.wait(lambda: shared.depth(args.endpoint, shared.QUEUE), lambda n: n == 0, "edalab-runbook-orders to drain",
              300, show=lambda n: f"messages in edalab-runbook-orders: {n}")
    return book.done("`make check LAB=09`; the error-rate alarm stays OK")


if __name__ == "__main__":
    sys.exit(shared.run_main(main))

"""Runbook: recover after the engine was killed; re-drive from the durable record.

    python labs/09-runbooks/runbooks/engine_recovery.py [--since ISO] [--dry-run]

The local engine keeps everything in memory: killed, it loses every queue and message (also
those in flight), the table, the archive, the alarms, the logs. What survives is outside it, in
the state folder: the producer's outbox (`lab09/outbox.jsonl`, each order written down BEFORE it
was sent) and the drill record. Recovery: start the engine and deploy the lab again (what
`make up` does for every lab), then send again every order of the outbox since --since (default:
the open drill's start) that the table does not hold. The consumer is idempotent, so an order
that survived somewhere would be skipped, not recorded twice. See engine_recovery.md.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _shared as shared  # noqa: E402


def rebuild(endpoint: str, parameters: dict, say) -> None:
    """Starts the host engine of this state folder on the endpoint's port, deploys lab 09."""
    from edalab import labs
    from edalab.engine.host import HostEngine

    port = urlparse(endpoint).port
    if port is None:
        raise RuntimeError(f"cannot tell the port of {endpoint}")
    engine = HostEngine(shared.settings.state_dir(), port)
    seconds = engine.start()
    say(f"   engine healthy after {seconds:.1f} s")
    outcome = labs.deploy(labs.find("09"), endpoint, parameters=parameters or None, say=say)
    say(f"   {shared.STACK}: {outcome}")


def main(argv: list[str] | None = None, say=print) -> int:
    def extra(parser):
        parser.add_argument("--since", help="re-drive the outbox from this moment (ISO 8601); default: the drill's start")
        parser.add_argument("--timeout", type=float, default=300)

    args = shared.arguments("Rebuild the engine and re-drive from the outbox.", argv, extra)
    book = shared.Runbook("recovery after the engine was killed", args.endpoint, args.dry_run, say)
    drill = shared.read_drill() or {}
    since = args.since or drill.get("started")
    if not since:
        raise RuntimeError("say from when to re-drive: --since 2026-11-24T05:00:00Z (no open drill record)")
    try:  # the outbox's times are UTC in one format: compare like with like
        moment = datetime.fromisoformat(since)
    except ValueError:
        raise RuntimeError(f"--since {since!r} is not a moment: use ISO 8601 with a date, e.g. "
                           "2026-11-24T05:00:00Z") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    since = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    book.step(f"Confirm the engine is down: GET {args.endpoint}/_localstack/health")
    up = shared.engine_answers(args.endpoint)
    book.note("the engine answers" if up else "no answer: the engine is down, and all it held in memory is gone")

    book.step(f"Read the durable record: {shared.outbox_path()} since {since}")
    entries = [e for e in shared.read_outbox() if e["at"] >= since]
    ids = list(dict.fromkeys(e["order_id"] for e in entries))
    book.note(f"{len(ids)} order(s) were sent since then (the drill record says {len(drill.get('ids', []))})")

    book.step("Rebuild: start the engine and deploy the lab (`make up` does this for every lab)")
    if up:
        book.note("the engine is up already: nothing to start")
    elif args.dry_run:
        book.say("   $ make up      (or: python -m edalab up)")
    else:
        rebuild(args.endpoint, drill.get("stack_parameters", {}), book.note)

    book.step("Re-drive: send again every order of the outbox the table does not hold")
    book.say(f"   $ dynamodb.batch_get_item(RequestItems={{{shared.TABLE!r}: {{'Keys': [...]}}}})")
    book.say(f"   $ events.put_events(Entries=[{{'EventBusName': {shared.BUS!r}, 'Source': {shared.SOURCE!r}, "
             f"'DetailType': {shared.DETAIL_TYPE!r}, 'Detail': <the outbox's detail>}}, ...])")
    if args.dry_run:
        return book.done("every order of the outbox is in the table")
    held = shared.processed(args.endpoint, ids)
    missing = [e["detail"] for e in {e["order_id"]: e for e in entries}.values() if e["order_id"] not in held]
    book.note(f"{len(held)} recorded, {len(missing)} to send again")
    shared.publish(args.endpoint, missing, record=False)

    book.step("Verify: every order of the outbox is recorded")
    book.wait(lambda: len(shared.processed(args.endpoint, ids)), lambda n: n == len(ids),
              "every order in the table", args.timeout, show=lambda n: f"recorded: {n} of {len(ids)}")
    return book.done("`make check LAB=09`")


if __name__ == "__main__":
    sys.exit(shared.run_main(main))

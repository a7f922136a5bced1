"""Runbook: replay a time window of the EventBridge archive to one rule only.

    python labs/09-runbooks/runbooks/replay_archive.py [--start ISO] [--end ISO] [--dry-run]

After a consumer bug, the orders of the bad window are still in the archive
edalab-runbook-archive. StartReplay sends the archived events whose time lies in
[--start, --end] back to edalab-runbook-bus, but only to the rule you name in FilterArns (here
edalab-runbook-orders-to-queue), so the audit rule does not see them twice. The window defaults
to the open drill's (from its record). The consumer is idempotent, so an order in the window that
was recorded anyway is skipped, not recorded twice. See replay_archive.md.
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _shared as shared  # noqa: E402


def when(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RuntimeError(f"{text!r} is not a time: use ISO 8601, e.g. 2026-11-24T05:01:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main(argv: list[str] | None = None, say=print) -> int:
    def extra(parser):
        parser.add_argument("--start", help="first moment of the window (ISO 8601, UTC); default: the drill's start")
        parser.add_argument("--end", help="last moment of the window; default: the drill's end")
        parser.add_argument("--rule", default=shared.ORDERS_RULE, help="the only rule the replay reaches")
        parser.add_argument("--timeout", type=float, default=120)

    args = shared.arguments("Replay a window of the archive to one rule.", argv, extra)
    drill = shared.read_drill() or {}
    window = drill.get("window", {})
    if not (args.start or window.get("start")) or not (args.end or window.get("end")):
        raise RuntimeError("say which window: --start and --end (no open drill record gives one)")
    start = when(args.start or window["start"]) - timedelta(seconds=0 if args.start else 1)
    end = when(args.end or window["end"]) + timedelta(seconds=0 if args.end else 1)
    if end <= start:
        raise RuntimeError(f"the window ends ({end:%Y-%m-%dT%H:%M:%SZ}) before it starts ({start:%Y-%m-%dT%H:%M:%SZ}): "
                           "--start is the earlier moment, --end the later")
    if not args.dry_run:
        rules = [r["Name"] for r in shared.aws.client("events", args.endpoint).list_rules(EventBusName=shared.BUS)["Rules"]]
        if args.rule not in rules:
            raise RuntimeError(f"there is no rule {args.rule!r} on {shared.BUS}; its rules: {', '.join(sorted(rules))}")
    book = shared.Runbook(f"replay {start:%H:%M:%S}..{end:%H:%M:%S} UTC to {args.rule}", args.endpoint,
                          args.dry_run, say)
    account, region = shared.settings.ACCOUNT_ID, shared.settings.REGION
    archive_arn = f"arn:aws:events:{region}:{account}:archive/{shared.ARCHIVE}"
    bus_arn = f"arn:aws:events:{region}:{account}:event-bus/{shared.BUS}"
    rule_arn = f"arn:aws:events:{region}:{account}:rule/{shared.BUS}/{args.rule}"

    book.step("Confirm the archive holds events")
    found = book.call("events", "describe_archive", ArchiveName=shared.ARCHIVE)
    if found:
        book.note(f"{found['EventCount']} event(s), state {found['State']}")
    book.step("Start the replay: only the window, only the affected rule")
    name = f"runbook-{uuid.uuid4().hex[:8]}"
    book.call("events", "start_replay", ReplayName=name, EventSourceArn=archive_arn, EventStartTime=start,
              EventEndTime=end, Destination={"Arn": bus_arn, "FilterArns": [rule_arn]})
    book.step("Wait for it to complete")
    events = shared.aws.client("events", args.endpoint)
    book.say(f"   $ events.describe_replay(ReplayName={name!r})")
    state = book.wait(lambda: events.describe_replay(ReplayName=name)["State"],
                      lambda s: s in ("COMPLETED", "FAILED", "CANCELLED"), "the replay to finish", args.timeout,
                      show=lambda s: f"replay {name}: {s}")
    if state not in (None, "COMPLETED"):
        raise RuntimeError(f"the replay ended {state}: `awslocal events describe-replay --replay-name {name}`")
    book.step("The replayed orders now go through the queue: watch it drain")
    book.wait(lambda: shared.depth(args.endpoint, shared.QUEUE), lambda n: n == 0, "edalab-runbook-orders to drain",
              args.timeout, show=lambda n: f"messages in edalab-runbook-orders: {n}")
    return book.done("the window's orders are in the table (`make check LAB=09`); the audit log saw each once")


if __name__ == "__main__":
    sys.exit(shared.run_main(main))

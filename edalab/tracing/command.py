"""`make trace ID=<correlation id>`: one submission's path through lab 11, drawn in the terminal.

Why this exists: the learner's question after a POST is "where did it go?". This gathers the id's
hops from the engine's records and prints the waterfall (`terminal.render`). A missing, malformed
or unknown id gets a message that says where ids come from and lists the newest ones the intake
logged, never a traceback.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from edalab.tracing import Summary, gather, newest_ids, read_records, summaries, terminal
from edalab.tracing.records import valid_id
from edalab.tracing.waterfall import milliseconds

RECENT_SHOWN = 8
WHERE_IDS_COME_FROM = (
    "A correlation id is what lab 11's API answers to `POST …/feedback`: `correlation_id` in its JSON and the "
    "`X-Correlation-Id` header (send your own with `-H 'X-Correlation-Id: my-id-1'`). Every log line of "
    "feedback-intake and feedback-store carries it, and the console's Traces page lists the newest ones."
)


def main(endpoint: str, args, say) -> int:
    correlation_id = (getattr(args, "id", None) or "").strip()
    if not correlation_id:
        say("Which submission? Give its correlation id: make trace ID=<correlation id>")
        say(WHERE_IDS_COME_FROM)
        _say_recent(endpoint, say)
        return 2
    if not valid_id(correlation_id):
        say(f"{correlation_id[:80]!r} cannot be a correlation id: one is 1 to 64 characters of letters, digits "
            "and . _ : - (lab 11's intake refuses any other with a 400).")
        say(WHERE_IDS_COME_FROM)
        return 2
    try:
        trace = gather(endpoint, correlation_id)
    except (ClientError, BotoCoreError, OSError) as error:
        say(f"The engine could not be read ({error}). Is it running? `make up`, then `make deploy LAB=11`.")
        return 1
    if not trace.found:
        say(f"No hop recorded the correlation id {correlation_id!r}: neither function logged it, and no queue "
            "holds a message that carries it.")
        say(WHERE_IDS_COME_FROM)
        _say_recent(endpoint, say)
        return 1
    say(terminal.render(trace, Console().width))  # the width rich draws in: the terminal's, else 80
    return 0


def _say_recent(endpoint: str, say) -> None:
    problems: list[str] = []
    try:
        records = read_records(endpoint, correlation_ids=newest_ids(endpoint, limit=RECENT_SHOWN, problems=problems))
    except (ClientError, BotoCoreError, OSError) as error:
        say(f"(The engine could not be read for recent ids: {error}.)")
        return
    for problem in dict.fromkeys(problems + records.problems):
        say(f"Note: {problem}.")
    recent = summaries(records, limit=RECENT_SHOWN)
    if not recent:
        say("The intake has logged no correlation id yet: POST a submission first (lab 11's README, step 1).")
        return
    say(f"The newest {len(recent)} the intake logged:")
    for summary in recent:
        say("  " + recent_line(summary))


def recent_line(summary: Summary) -> str:
    when = summary.started_at.strftime("%H:%M:%S") if summary.started_at else "--:--:--"
    retried = f", {summary.stores} store attempts" if summary.stores > 1 else ""
    return (f"{summary.correlation_id:<40} {when} UTC  {summary.outcome:<13} {summary.hops} hops, "
            f"{milliseconds(summary.duration_ms)}{retried}")

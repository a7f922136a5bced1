"""State our plugins and LocalStack keep outside the stores, emptied by a reset.

Why this exists: a visitor finds only what a service declares. Kept elsewhere, and cleared here:
- the usage meter's counters (`usage/counters.STORE`): a reset starts the count again;
- Logs Insights queries (`logs/insights_queries._queries`): running ones are told to stop;
- SES's record of sent email (`ses.provider.EMAILS`, and its JSON files, served by `/_aws/ses`);
- the local inbox: every email our relay filed into the Maildir (`<state>/mail/{new,cur,tmp}`);
  the relay itself hands each email over synchronously, so nothing waits in a queue of its own.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def reset_usage() -> None:
    from edalab.plugins.usage.counters import STORE

    STORE.reset()


def reset_insights_queries() -> None:
    insights_queries = sys.modules.get("edalab.plugins.logs.insights_queries")
    if insights_queries is None:  # Logs never served a query: nothing to clear, nothing to import
        return
    with insights_queries._queries_lock:
        for queries in insights_queries._queries.values():
            for query in queries.values():
                query.stop_requested.set()
        insights_queries._queries.clear()


def reset_sent_email() -> None:
    from localstack import config

    provider = sys.modules.get("localstack.services.ses.provider")
    if provider is not None:  # else SES never ran in this process: its record is empty
        provider.EMAILS.clear()
    folder = Path(config.dirs.data or config.dirs.tmp) / "ses"
    for record in folder.glob("*.json"):
        record.unlink(missing_ok=True)


def inbox_folder() -> Path | None:
    state = os.environ.get("EDALAB_STATE_DIR")
    return Path(state) / "mail" if state else None


def reset_inbox() -> int:
    """Removes every email the relay filed; keeps the Maildir and the relay's address. Returns how many."""
    folder = inbox_folder()
    removed = 0
    if folder is None:
        return 0
    for part in ("new", "cur", "tmp"):
        for message in (folder / part).glob("*"):
            if message.is_file():
                message.unlink(missing_ok=True)
                removed += 1
    return removed


PARTS = {"usage": reset_usage, "insights": reset_insights_queries, "ses": reset_sent_email, "inbox": reset_inbox}

"""What is red right now: a dead-letter queue holding messages, an alarm in ALARM, a failed stack.

Why this exists: the Overview lists these first, each with a link to the page that explains
it, because each means something failed and waits for a person. The readings are the Queues
and Alarms pages' own (`queue_views`, `alarm_details`), through the shared cache, so the
overview costs the engine nothing more than those pages already do.
"""

from __future__ import annotations

from edalab.console import alarm_details, queue_views


def red_items(view, lab_rows: list[dict]) -> list[dict]:
    """Each red thing as {kind, name, link, why}, failed stacks first, then alarms, then DLQs."""
    items = []
    for row in lab_rows:
        if row["failed"]:
            lab = row["lab"]
            items.append({"kind": "stack", "name": lab.stack.name, "link": f"/labs/{lab.number}",
                          "why": f"{row['status']}: its page says why; fix it, then `make deploy LAB={lab.number}`"})
    for alarm in alarm_details.all_alarms(view):
        if alarm["state"] == "ALARM":
            items.append({"kind": "alarm", "name": alarm["name"], "link": f"/alarms/{alarm['name']}",
                          "why": "in ALARM" + (f": {alarm['reason']}" if alarm.get("reason") else "")})
    for queue in queue_views.queue_rows(view):
        if queue.alarming:
            held = queue.visible + queue.in_flight + queue.delayed
            items.append({"kind": "dead-letter queue", "name": queue.name, "link": f"/queues/{queue.name}",
                          "why": f"holds {held} message{'s' if held != 1 else ''} that failed in "
                                 f"{', '.join(queue.dead_letter_of)}"})
    return items

"""Where each lab stands: its stack's status and the learner's last check.

Why this exists: the Overview, the Labs list and a lab's own page all say "deployed?" and
"did the last `make check` pass?". The stack status is CloudFormation's (through the shared
cache); the last check is the learner's journal (`edalab.learner`, the same record `make lab`
and `make progress` read), under the console's state folder.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from edalab import labs
from edalab.learner import LearnerRecord, learner_name

NAME_TTL = 60.0  # the learner's name (git config) hardly changes while the console runs


def stack_statuses(view) -> dict[str, str]:
    """Every stack's status by name (deleted stacks left out)."""
    def read() -> dict[str, str]:
        cloudformation = view.client("cloudformation")
        statuses = {}
        for result in cloudformation.get_paginator("describe_stacks").paginate():
            for stack in result["Stacks"]:
                statuses[stack["StackName"]] = stack["StackStatus"]
        return statuses
    return view.cached(("stacks",), read)


def stack_failed(status: str) -> bool:
    return "FAILED" in status or "ROLLBACK" in status


def status_class(status: str) -> str:
    """ok for a stack ready to use, bad for a failed or rolled back one, muted otherwise."""
    if stack_failed(status):
        return "bad"
    return "ok" if status.endswith("COMPLETE") and "DELETE" not in status else "muted"


def stack_failures(view, stack_name: str, limit: int = 3) -> list[str]:
    """The newest reasons CloudFormation gave for the stack's failed resources (its events)."""
    def read() -> list[str]:
        try:
            events = view.client("cloudformation").describe_stack_events(StackName=stack_name)["StackEvents"]
        except ClientError:
            return []
        reasons = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason') or e['ResourceStatus']}"
                   for e in events if e["ResourceStatus"].endswith("FAILED")
                   and (e["LogicalResourceId"] != stack_name or e.get("ResourceStatusReason"))]
        return list(dict.fromkeys(reasons))[:limit]
    return view.cached(("lab", "stack-failures", stack_name), read, ttl=10.0)


def learner(view) -> LearnerRecord:
    """The learner's record under the console's state folder (read afresh: a check may have run)."""
    name = view.cached(("learner-name",), lambda: learner_name()[0], ttl=NAME_TTL)
    return LearnerRecord(view.state_dir / "learners", name)


def last_check(record: LearnerRecord, number: str) -> dict | None:
    """The lab's last finished check: when, passed or not, steps passed of how many, where it stopped."""
    runs = record.runs(number)
    if not runs:
        return None
    run = runs[-1]
    failed = next((s for s in run["steps"] if s["status"] == "failed"), None)
    return {"finished": run["finished"], "passed": run["passed"], "attempts": len(runs),
            "steps_passed": sum(s["status"] == "passed" for s in run["steps"]), "steps": len(run["steps"]),
            "stopped_at": f"{failed['number']}. {failed['title']}" if failed else None}


def lab_rows(view, healthy: bool = True) -> list[dict]:
    """Every lab with its stack status and last check, in the labs' order."""
    statuses = stack_statuses(view) if healthy else {}
    record = learner(view)
    rows = []
    for lab in labs.all_labs():
        status = statuses.get(lab.stack.name, "not deployed" if healthy else "unknown")
        rows.append({"lab": lab, "status": status, "status_class": status_class(status),
                     "failed": stack_failed(status), "check": last_check(record, lab.number)})
    return rows

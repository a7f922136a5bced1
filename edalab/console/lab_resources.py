"""A lab's resources, grouped as its diagram groups them, each with its live numbers.

Why this exists: the lab page shows what the lab built and how busy each part is, in the order
an event travels through it, so a learner can match the page to the README's diagram. The
resources are the stack's (CloudFormation `ListStackResources`); the order and grouping come
from the README's Mermaid diagram: its subgraphs when it has any, else by kind in the flow's
order (API, topics and buses, queues with their dead-letter queues, functions, tables and
buckets, alarms), each kind in the order its names appear in the diagram.

Live numbers, all through the console's shared cache: queue depths from `queue_views` (the
Queues page's own reading, so both pages share one engine call), function invocations and
errors in the last 5 minutes from CloudWatch (`function_catalog.recent_counts`), alarm states
from `alarm_details`, items in a table (`Scan Select=COUNT`) and objects in a bucket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from edalab.console import alarm_details, function_catalog, queue_views
from edalab.labs import Lab

# (group title, {CloudFormation type: kind}) in the order an event travels through a lab
KINDS = [
    ("API", {"AWS::ApiGateway::RestApi": "api", "AWS::ApiGatewayV2::Api": "api"}),
    ("Topics and event buses", {"AWS::SNS::Topic": "topic", "AWS::Events::EventBus": "bus", "AWS::Events::Rule": "rule"}),
    ("Queues", {"AWS::SQS::Queue": "queue"}),
    ("Functions", {"AWS::Lambda::Function": "function"}),
    ("Tables and buckets", {"AWS::DynamoDB::Table": "table", "AWS::S3::Bucket": "bucket"}),
    ("Alarms", {"AWS::CloudWatch::Alarm": "alarm", "AWS::CloudWatch::CompositeAlarm": "alarm"}),
]
KIND_OF = {cfn_type: kind for _, types in KINDS for cfn_type, kind in types.items()}
KIND_RANK = {cfn_type: rank for rank, (_, types) in enumerate(KINDS) for cfn_type in types}
STACK_TTL = 10.0  # a stack's resource list changes only on deploy
COUNT_TTL = 5.0  # a table scan or bucket listing is dearer than a queue's attributes
BUCKET_COUNT_LIMIT = 10_000  # a listing stops there ("10,000 or more")
LINKS = {"queue": "/queues/{}", "function": "/functions/{}", "alarm": "/alarms/{}"}


@dataclass
class Resource:
    kind: str  # api, topic, bus, rule, queue, function, table, bucket, alarm
    name: str
    cfn_type: str
    logical_id: str
    status: str = ""
    numbers: dict = field(default_factory=dict)  # what the page shows beside it
    dead_letter_queue: Resource | None = None  # a queue's DLQ, shown under it
    problem: str | None = None  # the live read failed (e.g. deleted by hand)

    @property
    def link(self) -> str | None:
        pattern = LINKS.get(self.kind)
        return pattern.format(self.name) if pattern else None


@dataclass
class Group:
    title: str
    resources: list[Resource]


# -- the diagram ---------------------------------------------------------------------------------
def diagram(lab: Lab) -> str:
    """The Mermaid source of the lab's README diagram ('' when it has none)."""
    try:
        text = (lab.folder / "README.md").read_text()
    except OSError:
        return ""
    found = re.search(r"```mermaid\s*\n(.*?)```", text, flags=re.DOTALL)
    return found.group(1) if found else ""


_SUBGRAPH = re.compile(r"^\s*subgraph\s+(?P<id>[^\s\[\"]+)?\s*(?:\[\s*\"?(?P<title>[^\]\"]*)\"?\s*\]|\"(?P<quoted>[^\"]*)\")?",
                       re.MULTILINE)
_END = re.compile(r"^\s*end\s*$", re.MULTILINE)


def subgraphs(source: str) -> list[tuple[str, int, int]]:
    """(title, start, end) of each subgraph of a Mermaid flowchart, outermost first."""
    marks = sorted([(m.start(), "open", m) for m in _SUBGRAPH.finditer(source)]
                   + [(m.start(), "end", m) for m in _END.finditer(source)], key=lambda mark: mark[0])
    found, open_ones = [], []
    for position, what, match in marks:
        if what == "open":
            title = (match.group("title") or match.group("quoted") or match.group("id") or "").strip()
            open_ones.append((title, position))
        elif open_ones:
            title, start = open_ones.pop()
            found.append((title, start, match.end()))
    return sorted(found, key=lambda graph: graph[1])


# words in a node's label before the name that say which kind of node it is (a queue and a
# table may share a name: lab 04's edalab-orders)
NODE_WORDS = {"queue": ("SQS", "[[", "DLQ"), "table": ("DynamoDB",), "bucket": ("S3",), "function": ("Lambda", "(("),
              "topic": ("SNS", "{{"), "bus": ("EventBridge", "bus"), "alarm": ("alarm",), "api": ("API",)}
_EDGE_OR_LINE = re.compile(r"-->|-\.->|==>|\n")


def position(name: str, source: str, kind: str | None = None) -> int:
    """Where the resource's name appears in the diagram as a whole name (not as the start of a
    longer one: `edalab-uploads` is not found in `edalab-uploads-dlq`): the first place whose
    node is drawn as its kind, else the first place at all."""
    places = [m.start() for m in re.finditer(r"(?<![\w-])" + re.escape(name) + r"(?![\w-]|\.\w)", source)]
    if not places:
        return len(source) + 1
    for place in places:
        node = _EDGE_OR_LINE.split(source[max(0, place - 80):place])[-1]
        if any(word in node for word in NODE_WORDS.get(kind, ())):
            return place
    return places[0]


def group_resources(resources: list[Resource], source: str) -> list[Group]:
    """The diagram's subgraphs when it has any (innermost wins; the rest by kind after them),
    else one group per kind in the flow's order; within a group, the diagram's order."""
    def order(resource: Resource) -> tuple:
        return KIND_RANK[resource.cfn_type], position(resource.name, source, resource.kind), resource.name

    groups, rest = [], list(resources)
    for title, start, end in sorted(subgraphs(source), key=lambda graph: graph[2] - graph[1]):
        inside = [r for r in rest if start <= position(r.name, source, r.kind) < end]
        rest = [r for r in rest if r not in inside]
        if inside:
            groups.append((start, Group(title, sorted(inside, key=order))))
    shown = [group for _, group in sorted(groups, key=lambda pair: pair[0])]
    for title, types in KINDS:
        of_kind = [r for r in rest if r.cfn_type in types]
        if of_kind:
            shown.append(Group(title, sorted(of_kind, key=lambda r: (position(r.name, source, r.kind), r.name))))
    return shown


# -- the stack -----------------------------------------------------------------------------------
class NotDeployed(LookupError):
    """The lab's stack does not exist."""


def name_from_physical_id(cfn_type: str, physical_id: str) -> str:
    """A queue's URL, a topic's ARN, a rule's `bus|rule`: the name the console's pages use."""
    if cfn_type == "AWS::SQS::Queue":
        return physical_id.rstrip("/").rsplit("/", 1)[-1]
    if cfn_type == "AWS::SNS::Topic":
        return physical_id.rsplit(":", 1)[-1]
    if cfn_type == "AWS::Events::Rule":
        return physical_id.rsplit("|", 1)[-1]
    return physical_id


def stack_resources(view, lab: Lab) -> list[Resource]:
    """The stack's resources of the kinds the page shows (roles, policies, permissions and
    mappings left out)."""
    def read() -> list[dict]:
        cloudformation = view.client("cloudformation")
        try:
            return [summary for result in cloudformation.get_paginator("list_stack_resources")
                    .paginate(StackName=lab.stack.name) for summary in result["StackResourceSummaries"]]
        except ClientError as error:
            if "does not exist" in str(error):
                return []
            raise
    summaries = view.cached(("lab", lab.number, "stack-resources"), read, ttl=STACK_TTL)
    if not summaries:
        raise NotDeployed(lab.stack.name)
    return [Resource(KIND_OF[s["ResourceType"]], name_from_physical_id(s["ResourceType"], s["PhysicalResourceId"]),
                     s["ResourceType"], s["LogicalResourceId"], s.get("ResourceStatus", ""))
            for s in summaries if s["ResourceType"] in KIND_OF and s.get("PhysicalResourceId")]


# -- live numbers --------------------------------------------------------------------------------
def _add_queue_numbers(view, queues: list[Resource]) -> list[Resource]:
    """Depths from the Queues page's reading; a DLQ of another of the lab's queues moves under it."""
    rows = {row.name: row for row in queue_views.queue_rows(view)}
    by_name = {q.name: q for q in queues}
    for queue in queues:
        row = rows.get(queue.name)
        if row is None:
            queue.problem = "not found in the engine (deleted by hand? `make deploy` brings it back)"
            continue
        queue.numbers = {"visible": row.visible, "in_flight": row.in_flight, "delayed": row.delayed,
                         "dead_letter_of": ", ".join(row.dead_letter_of)}
    nested = set()
    for queue in queues:
        row = rows.get(queue.name)
        dlq = row.dead_letter_queue if row else None
        if dlq and dlq in by_name and dlq not in nested and dlq != queue.name:
            queue.dead_letter_queue = by_name[dlq]
            nested.add(dlq)
    return [q for q in queues if q.name not in nested]


def _add_function_numbers(view, lab: Lab, functions: list[Resource]) -> None:
    names = sorted(f.name for f in functions)
    counts = view.cached(("lab", lab.number, "function-counts"),
                         lambda: function_catalog.recent_counts(view.client("cloudwatch"), names), ttl=COUNT_TTL)
    for function in functions:
        found = counts.get(function.name, {"invocations": 0, "errors": 0})
        function.numbers = {"invocations": found["invocations"], "errors": found["errors"]}


def _add_alarm_states(view, alarms: list[Resource]) -> None:
    states = {alarm["name"]: alarm for alarm in alarm_details.all_alarms(view)}
    for alarm in alarms:
        found = states.get(alarm.name)
        if found is None:
            alarm.problem = "not found in the engine"
        else:
            alarm.numbers = {"state": found["state"]}


def table_items(view, name: str) -> int:
    def read() -> int:
        total, kwargs = 0, {"TableName": name, "Select": "COUNT"}
        dynamodb = view.client("dynamodb")
        while True:
            answer = dynamodb.scan(**kwargs)
            total += answer["Count"]
            if "LastEvaluatedKey" not in answer:
                return total
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
    return view.cached(("lab", "table-items", name), read, ttl=COUNT_TTL)


def bucket_objects(view, name: str) -> int:
    def read() -> int:
        total = 0
        for result in view.client("s3").get_paginator("list_objects_v2").paginate(Bucket=name):
            total += result.get("KeyCount", 0)
            if total >= BUCKET_COUNT_LIMIT:
                break
        return total
    return view.cached(("lab", "bucket-objects", name), read, ttl=COUNT_TTL)


def _add_count(view, resource: Resource) -> None:
    try:
        if resource.kind == "table":
            resource.numbers = {"items": table_items(view, resource.name)}
        elif resource.kind == "bucket":
            count = bucket_objects(view, resource.name)
            resource.numbers = {"objects": f"{count:,} or more" if count >= BUCKET_COUNT_LIMIT else f"{count:,}"}
    except (ClientError, BotoCoreError) as error:
        resource.problem = f"could not read it: {error}"


def lab_groups(view, lab: Lab) -> list[Group]:
    """The lab's resources with their live numbers, grouped as the diagram groups them.
    Raises NotDeployed when the lab's stack does not exist."""
    resources = stack_resources(view, lab)
    of_kind = {kind: [r for r in resources if r.kind == kind] for kind in set(KIND_OF.values())}
    shown_queues = of_kind["queue"]
    for kind, add in (("queue", lambda found: _add_queue_numbers(view, found)),
                      ("function", lambda found: _add_function_numbers(view, lab, found)),
                      ("alarm", lambda found: _add_alarm_states(view, found))):
        if not of_kind[kind]:
            continue
        try:
            nested = add(of_kind[kind])
        except (ClientError, BotoCoreError) as error:  # one kind unreadable: say so beside each, show the rest
            for resource in of_kind[kind]:
                resource.problem = f"could not read it: {error}"
            continue
        if kind == "queue":
            shown_queues = nested
    for resource in of_kind["table"] + of_kind["bucket"]:
        _add_count(view, resource)
    hidden = {q.name for q in of_kind["queue"]} - {q.name for q in shown_queues}
    return group_resources([r for r in resources if not (r.kind == "queue" and r.name in hidden)], diagram(lab))

"""What the drills, the runbook scripts and the check of lab 09 share.

Why this exists: they all name the same resources, read the same durable records in the state
folder (the drill record: what a drill sent and when; the producer's outbox: every order ever
sent), send orders the same way, and print the steps of a runbook the same way, so a dry run
shows exactly the API calls a real run makes. The scripts run on their own
(`python labs/09-runbooks/runbooks/<name>.py`), so this module is imported from their folder.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from edalab import aws, settings
from edalab.engine.health import is_healthy

STACK = "edalab-09-runbooks"
BUS = "edalab-runbook-bus"
ARCHIVE = "edalab-runbook-archive"
ORDERS_RULE = "edalab-runbook-orders-to-queue"
QUEUE = "edalab-runbook-orders"
DLQ = "edalab-runbook-orders-dlq"
PARKED = "edalab-runbook-parked"
TABLE = "edalab-runbook-orders"
CONSUMER = "edalab-runbook-consumer"
ALARMS = ("edalab-runbook-dlq-not-empty", "edalab-runbook-consumer-error-rate")
SOURCE, DETAIL_TYPE = "edalab.shop", "OrderPlaced"
# the consumer's normal service, as the template deploys it (drills and runbooks change these)
NORMAL = {"BatchSize": 10, "MaximumConcurrency": 2, "MaximumBatchingWindowInSeconds": 1}
REASONS = ("InvalidOrder", "ConsumerBug", "DownstreamUnavailable")


# -- durable records (the state folder: outside the engine, it survives the engine) ---------------
def lab_dir() -> Path:
    return settings.state_dir() / "lab09"


def drill_record_path() -> Path:
    return lab_dir() / "drill.json"


def outbox_path() -> Path:
    return lab_dir() / "outbox.jsonl"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read_drill() -> dict | None:
    try:
        return json.loads(drill_record_path().read_text())
    except (FileNotFoundError, ValueError):
        return None


def write_drill(record: dict) -> None:
    lab_dir().mkdir(parents=True, exist_ok=True)
    tmp = drill_record_path().with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(drill_record_path())


def read_outbox() -> list[dict]:
    """Every order the producer wrote down before sending it, oldest first."""
    try:
        lines = outbox_path().read_text().splitlines()
    except FileNotFoundError:
        return []
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue  # a line cut short by a crash: the order was never sent
    return entries


# -- orders ---------------------------------------------------------------------------------------
def order(order_id: str, drill: str, valid: bool = True) -> dict:
    body = {"order_id": order_id, "customer": "Drill Customer", "total": 25, "correlation_id": f"corr-{order_id}",
            "drill": drill}
    if not valid:
        body["customer"] = ""  # a poison order: no retry, release or outage fix makes it valid
    return body


def new_ids(drill: str, count: int) -> list[str]:
    run = uuid.uuid4().hex[:6]
    return [f"{drill}-{run}-{n:05d}" for n in range(count)]


def publish(endpoint: str, orders: Iterable[dict], record: bool = True) -> int:
    """The producer: writes each order to the outbox (flushed) BEFORE putting it on the bus,
    then puts it, 10 per PutEvents call. The outbox is the durable record of what was sent
    (`record=False`: a re-drive of orders the outbox holds already)."""
    events = aws.client("events", endpoint)
    orders = list(orders)
    lab_dir().mkdir(parents=True, exist_ok=True)
    sent = 0
    with outbox_path().open("a") as outbox:
        for start in range(0, len(orders), 10):
            chunk = orders[start:start + 10]
            for o in chunk if record else ():
                outbox.write(json.dumps({"order_id": o["order_id"], "at": now_iso(), "detail": o}) + "\n")
            outbox.flush()
            answer = events.put_events(Entries=[{"EventBusName": BUS, "Source": SOURCE, "DetailType": DETAIL_TYPE,
                                                 "Detail": json.dumps(o)} for o in chunk])
            if answer.get("FailedEntryCount"):
                raise RuntimeError(f"the bus refused {answer['FailedEntryCount']} event(s): {answer['Entries']}")
            sent += len(chunk)
    return sent


def send_to_queue(endpoint: str, orders: list[dict], say: Callable[[str], None] = print) -> None:
    """Straight onto the queue, as EventBridge would deliver them (for big backlogs: faster than
    the bus). Written to the outbox first too."""
    sqs = aws.client("sqs", endpoint)
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    lab_dir().mkdir(parents=True, exist_ok=True)
    with outbox_path().open("a") as outbox:
        for start in range(0, len(orders), 10):
            chunk = orders[start:start + 10]
            for o in chunk:
                outbox.write(json.dumps({"order_id": o["order_id"], "at": now_iso(), "detail": o}) + "\n")
            outbox.flush()
            entries = [{"Id": str(n), "MessageBody": json.dumps({"version": "0", "id": str(uuid.uuid4()),
                        "source": SOURCE, "detail-type": DETAIL_TYPE, "detail": o})} for n, o in enumerate(chunk)]
            failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")
            if failed:
                raise RuntimeError(f"SQS refused {len(failed)} message(s): {failed}")
            if start and start % 1000 == 0:
                say(f"  {start} sent ...")


def processed(endpoint: str, ids: list[str]) -> dict[str, int]:
    """order id -> times_processed, for those of `ids` the table holds."""
    dynamodb = aws.client("dynamodb", endpoint)
    found: dict[str, int] = {}
    for start in range(0, len(ids), 100):
        keys = [{"order_id": {"S": i}} for i in ids[start:start + 100]]
        while keys:
            answer = dynamodb.batch_get_item(RequestItems={TABLE: {"Keys": keys, "ConsistentRead": True}})
            for item in answer["Responses"].get(TABLE, []):
                found[item["order_id"]["S"]] = int(item.get("times_processed", {"N": "0"})["N"])
            keys = answer.get("UnprocessedKeys", {}).get(TABLE, {}).get("Keys", [])
    return found


# -- the stack -----------------------------------------------------------------------------------
def engine_answers(endpoint: str) -> bool:
    return is_healthy(endpoint)


def queue_url(endpoint: str, name: str) -> str:
    return f"{endpoint.rstrip('/')}/{settings.ACCOUNT_ID}/{name}"


def mapping(endpoint: str) -> dict:
    lam = aws.client("lambda", endpoint)
    found = lam.list_event_source_mappings(FunctionName=CONSUMER)["EventSourceMappings"]
    if not found:
        raise RuntimeError(f"{CONSUMER} has no event source mapping: redeploy with `make deploy LAB=09`")
    return found[0]


def depth(endpoint: str, name: str) -> int:
    """Visible + in flight + delayed messages of a queue."""
    attrs = aws.client("sqs", endpoint).get_queue_attributes(
        QueueUrl=queue_url(endpoint, name), AttributeNames=["ApproximateNumberOfMessages",
                                                            "ApproximateNumberOfMessagesNotVisible",
                                                            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return sum(int(v) for v in attrs.values())


def stack_parameters(endpoint: str) -> dict[str, str]:
    """The lab stack's own parameters (not the code locations bootstrap fills in)."""
    stack = aws.client("cloudformation", endpoint).describe_stacks(StackName=STACK)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])
            if p["ParameterKey"] != "CodeBucket" and not p["ParameterKey"].endswith("Code")}


# -- runbook scripts ----------------------------------------------------------------------------
def arguments(description: str, argv: list[str] | None, extra: Callable[[argparse.ArgumentParser], None] | None = None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--dry-run", action="store_true", help="only print the steps and the exact API calls")
    parser.add_argument("--endpoint", default=None, help="the engine (default: the one `make up` started)")
    if extra:
        extra(parser)
    args = parser.parse_args(argv)
    args.endpoint = args.endpoint or settings.endpoint()
    return args


class Runbook:
    """Prints a runbook's steps and its API calls; runs the calls unless it is a dry run."""

    def __init__(self, title: str, endpoint: str, dry_run: bool, say: Callable[[str], None] = print):
        self.endpoint, self.dry_run, self.say = endpoint, dry_run, say
        self.number = 0
        self.started = time.monotonic()
        say(f"== {title}{' (dry run: nothing is changed)' if dry_run else ''}")

    def step(self, text: str) -> None:
        self.number += 1
        self.say(f"\n{self.number}. {text}")

    def note(self, text: str) -> None:
        self.say(f"   {text}")

    def call(self, service: str, operation: str, **params):
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
        self.say(f"   $ {service}.{operation}({shown})")
        if self.dry_run:
            return None
        return getattr(aws.client(service, self.endpoint), operation)(**params)

    def wait(self, probe: Callable[[], object], until: Callable[[object], bool], what: str, timeout: float,
             show: Callable[[object], str] | None = None, every: float = 5.0):
        """Polls until `until(probe())`; prints progress every `every` s. Raises TimeoutError."""
        self.say(f"   waiting for {what} (up to {timeout:.0f} s)")
        if self.dry_run:
            return None
        deadline, shown_at = time.monotonic() + timeout, 0.0
        while True:
            value = probe()
            if until(value):
                if show:
                    self.say(f"   {show(value)}")
                return value
            if show and time.monotonic() - shown_at >= every:
                shown_at = time.monotonic()
                self.say(f"   {show(value)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout:.0f} s for {what}; last seen: {value}")
            time.sleep(0.5)

    def done(self, verify: str) -> int:
        self.say(f"\nDone in {time.monotonic() - self.started:.1f} s. Verify: {verify}")
        return 0


def run_main(main: Callable[[], int]) -> int:
    """Runs a script's main; a problem is one clear line and exit code 1, never a traceback."""
    try:
        return main()
    except (RuntimeError, TimeoutError) as error:
        print(f"\nStopped: {error}")
        return 1
    except Exception as error:  # botocore errors: the engine down, a resource missing
        print(f"\nStopped: {type(error).__name__}: {error}\n(Is the engine up (`make status`) and the lab deployed "
              "(`make deploy LAB=09`)?)")
        return 1


# -- the consumer's change log (what a deploy pipeline would keep) --------------------------------
def deploys_path() -> Path:
    return lab_dir() / "deploys.jsonl"


def read_deploys() -> list[dict]:
    try:
        return [json.loads(line) for line in deploys_path().read_text().splitlines() if line.strip()]
    except (FileNotFoundError, ValueError):
        return []


def change_consumer(endpoint: str, what: str, changes: dict[str, str]) -> dict:
    """Changes the consumer's environment and writes the change (before and after) to the log."""
    lam = aws.client("lambda", endpoint)
    before = lam.get_function_configuration(FunctionName=CONSUMER)["Environment"]["Variables"]
    after = {**before, **changes}
    lam.update_function_configuration(FunctionName=CONSUMER, Environment={"Variables": after})
    entry = {"id": uuid.uuid4().hex[:8], "at": now_iso(), "what": what, "before": before, "after": after}
    lab_dir().mkdir(parents=True, exist_ok=True)
    with deploys_path().open("a") as log:
        log.write(json.dumps(entry) + "\n")
    return entry


def mark_rolled_back(change: dict) -> None:
    entries = read_deploys()
    for entry in entries:
        if entry["id"] == change["id"]:
            entry["rolled_back"] = now_iso()
    deploys_path().write_text("".join(json.dumps(e) + "\n" for e in entries))


def log_messages(endpoint: str, function_name: str) -> list[str]:
    """Every message the function logged, oldest first (all pages)."""
    from edalab.function_logs import log_messages as read

    return read(aws.client("logs", endpoint), function_name)

"""The engine's usage meter (`GET`/`DELETE /_edalab/usage`, `make usage`), against the real engine.

Every call is counted by service, operation and caller, billed as AWS bills it (64 KB chunks,
S3 tiers, DynamoDB units, Lambda's billed milliseconds, log bytes), from outside and from inside
the engine. On the stock engine (EDALAB_STOCK_SERVICES=usage) there is no such endpoint and
every test here fails at its first read.
"""

from __future__ import annotations

import argparse
import json
import math
import uuid

import pytest

from edalab import usage_report
from edalab.console.engine_view import EngineView
from edalab.http_call import http
from edalab.waiting import wait_for
from support import ROLE, create_queue, free_port, zip_source

BIG_BODY = "x" * 70_000  # more than 64 KB: two billable requests


def usage(endpoint: str, method: str = "GET") -> dict:
    reply = http(method, endpoint + "/_edalab/usage")
    assert reply.status == 200 and isinstance(reply.body, dict), (
        f"{method} /_edalab/usage answered {reply.status} {reply.text[:200]!r}: a stock engine has no usage meter")
    return reply.body


def row(document: dict, service: str, operation: str, caller: str = "client") -> dict:
    """The requests row of service/operation/caller, zeroes when there is none."""
    for found in document["requests"]:
        if (found["service"], found["operation"], found["caller"]) == (service, operation, caller):
            return found
    return {"count": 0, "billable": 0, "empty": 0}


def mock_api(apigateway, name: str) -> str:
    """A REST API whose GET / answers 200 from a MOCK integration, deployed to stage `test`."""
    api = apigateway.create_rest_api(name=name)["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    apigateway.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK",
                               requestTemplates={"application/json": '{"statusCode": 200}'})
    apigateway.put_method_response(restApiId=api, resourceId=root, httpMethod="GET", statusCode="200")
    apigateway.put_integration_response(restApiId=api, resourceId=root, httpMethod="GET", statusCode="200",
                                        responseTemplates={"application/json": "{}"})
    apigateway.create_deployment(restApiId=api, stageName="test")
    return api


def test_requests_are_counted_by_caller_and_billed_as_aws_bills_them(engine, tmp_path):
    sqs, s3, ddb = engine.client("sqs"), engine.client("s3"), engine.client("dynamodb")
    sns, logs, events = engine.client("sns"), engine.client("logs"), engine.client("events")
    tag = uuid.uuid4().hex[:8]
    queue_url, queue_arn = create_queue(sqs, f"usage-{tag}")
    empty_url, _ = create_queue(sqs, f"usage-empty-{tag}")
    ddb.create_table(TableName=f"usage-{tag}", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    topic_arn = sns.create_topic(Name=f"usage-{tag}")["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    events.put_rule(Name=f"usage-{tag}", EventPattern=json.dumps({"source": [f"usage.{tag}"]}))
    events.put_targets(Rule=f"usage-{tag}", Targets=[{"Id": "queue", "Arn": queue_arn}])
    api = mock_api(engine.client("apigateway"), f"usage-{tag}")
    logs.create_log_group(logGroupName=f"/usage/{tag}")
    logs.create_log_stream(logGroupName=f"/usage/{tag}", logStreamName="s")

    started = usage(engine.endpoint, "DELETE")["since"]
    assert usage(engine.endpoint)["since"] == started

    for body in ("one", "two", BIG_BODY):
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": "b"} for i in range(3)])
    assert "Messages" not in sqs.receive_message(QueueUrl=empty_url, WaitTimeSeconds=0)

    # item size (DynamoDB's rules): "pk"+"a" = 3 bytes, "blob" + 3,000 = 3,004 bytes -> 3 write units
    ddb.put_item(TableName=f"usage-{tag}", Item={"pk": {"S": "a"}, "blob": {"S": "y" * 3000}})
    ddb.get_item(TableName=f"usage-{tag}", Key={"pk": {"S": "a"}}, ConsistentRead=True)  # 1 read unit
    ddb.get_item(TableName=f"usage-{tag}", Key={"pk": {"S": "a"}})  # eventually consistent: half a unit

    s3.create_bucket(Bucket=f"usage-{tag}")  # PUT: tier 1
    s3.put_object(Bucket=f"usage-{tag}", Key="k", Body=b"data")  # tier 1
    s3.get_object(Bucket=f"usage-{tag}", Key="k")["Body"].read()  # tier 2
    s3.list_objects_v2(Bucket=f"usage-{tag}")  # LIST: tier 1
    s3.delete_object(Bucket=f"usage-{tag}", Key="k")  # free

    console = EngineView(engine.endpoint, tmp_path)  # the console's own clients
    console.client("sqs").list_queues()
    console.client("s3").list_buckets()  # shown under its caller, not in the S3 tiers a run pays
    # EventBridge bills each 64 KB chunk of an entry as one event: 1 + 2
    events.put_events(Entries=[{"Source": f"usage.{tag}", "DetailType": "t", "Detail": json.dumps({"n": 1})},
                               {"Source": f"usage.{tag}", "DetailType": "t", "Detail": json.dumps({"x": BIG_BODY})}])
    assert http("GET", f"{engine.endpoint}/restapis/{api}/test/_user_request_/").status == 200
    sns.publish(TopicArn=topic_arn, Message="published")
    messages = ["hello\n", "wörld\n"]  # 6 + 7 UTF-8 bytes
    logs.put_log_events(logGroupName=f"/usage/{tag}", logStreamName="s",
                        logEvents=[{"timestamp": 1, "message": m} for m in messages])

    document = wait_for(lambda: usage(engine.endpoint), what="SNS's delivery to the queue to be counted",
                        until=lambda d: row(d, "sqs", "SendMessage", "engine")["count"] >= 3)
    assert row(document, "sqs", "SendMessage") == {"service": "sqs", "operation": "SendMessage", "caller": "client",
                                                   "count": 3, "billable": 4, "empty": 0}
    assert row(document, "sqs", "SendMessageBatch")["billable"] == 1  # one request for the whole batch
    assert row(document, "sqs", "ReceiveMessage")["empty"] == 1
    # SNS's delivery and EventBridge's two (one of them over 64 KB), sent by the engine (which
    # may also be delivering for flows an earlier test left behind: at least ours, then)
    engine_sends = row(document, "sqs", "SendMessage", "engine")
    assert engine_sends["count"] >= 3 and engine_sends["billable"] - engine_sends["count"] == 1
    assert (document["events"]["entries"], document["events"]["billable"]) == (2, 3)
    assert document["events"]["deliveries"] >= 2
    assert document["apigateway"] == {"requests": 1}
    assert row(document, "sqs", "ListQueues", "console")["count"] == 1
    assert row(document, "sqs", "ListQueues")["count"] == 0
    assert row(document, "sns", "Publish")["billable"] == 1
    assert document["sns"]["publishes"] >= 1 and document["sns"]["deliveries"]["sqs"] >= 1
    table = document["dynamodb"]["by_table"][f"usage-{tag}"]
    assert table == {"read_units": 1.5, "write_units": 3.0}
    assert document["s3"] == {"tier1": 3, "tier2": 1}
    assert document["logs"]["by_group"][f"/usage/{tag}"] == {"ingested_bytes": 13, "events": 2}

    refused = http("POST", engine.endpoint + "/_edalab/usage")
    assert refused.status == 405 and "DELETE" in refused.body["message"]

    # make usage: the document as JSON, and as tables
    said: list[str] = []
    assert usage_report.main(engine.endpoint, argparse.Namespace(reset=False, format="json"), said.append) == 0
    assert json.loads("\n".join(said))["since"] == started
    said.clear()
    assert usage_report.main(engine.endpoint, argparse.Namespace(reset=False, format="table"), said.append) == 0
    assert any("SendMessage" in line for line in said)

    said.clear()
    assert usage_report.main(f"http://127.0.0.1:{free_port()}", argparse.Namespace(reset=False), said.append) == 1
    assert said[0].startswith("No engine answers at") and "make up" in said[0]

    zeroed = usage(engine.endpoint, "DELETE")["since"]
    document = usage(engine.endpoint)
    assert zeroed > started and document["since"] == zeroed
    assert row(document, "sqs", "SendMessage") == {"count": 0, "billable": 0, "empty": 0}
    assert document["dynamodb"]["by_table"] == {} and document["s3"] == {"tier1": 0, "tier2": 0}


FUNCTION_SOURCE = """
import os
import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE"])


def handler(event, context):
    for record in event["Records"]:
        TABLE.put_item(Item={"pk": record["messageId"], "body": record["body"]})
        print("stored", record["messageId"])
    return {}
"""


def test_a_mapping_and_its_function_are_callers_and_the_invocation_is_billed(engine):
    sqs, lam, ddb, logs = (engine.client(s) for s in ("sqs", "lambda", "dynamodb", "logs"))
    tag = uuid.uuid4().hex[:8]
    name = f"usage-fn-{tag}"
    queue_url, queue_arn = create_queue(sqs, f"usage-src-{tag}", VisibilityTimeout=30)
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    lam.create_function(FunctionName=name, Runtime="python3.13", Handler="app.handler", Role=ROLE,
                        Code={"ZipFile": zip_source(FUNCTION_SOURCE)}, Timeout=10, MemorySize=256,
                        Environment={"Variables": {"TABLE": name}})
    wait_for(lambda: lam.get_function(FunctionName=name)["Configuration"]["State"],
             what=f"function {name} to become Active", until=lambda state: state == "Active")
    usage(engine.endpoint, "DELETE")
    mapping = lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=name, BatchSize=1)["UUID"]
    try:
        sqs.send_message(QueueUrl=queue_url, MessageBody="order")
        document = wait_for(lambda: usage(engine.endpoint), what="the function's invocation to be counted",
                            timeout=60, until=lambda d: any(r["function"] == name for r in d["lambda"]))
    finally:
        lam.delete_event_source_mapping(UUID=mapping)

    (billed,) = [r for r in document["lambda"] if r["function"] == name]
    assert billed["memory_mb"] == 256 and billed["invocations"] == 1 and billed["errors"] == 0
    assert billed["billed_ms"] == math.ceil(billed["duration_ms"]) > 0
    assert billed["gb_seconds"] == pytest.approx(256 / 1024 * billed["billed_ms"] / 1000)
    assert row(document, "sqs", "ReceiveMessage", f"mapping:{mapping}")["count"] >= 1
    assert row(document, "lambda", "Invoke", f"mapping:{mapping}")["count"] == 1
    assert row(document, "dynamodb", "PutItem", f"function:{name}")["count"] == 1
    assert document["dynamodb"]["by_table"][name]["write_units"] == 1.0

    # the function's log lines, as Lambda wrote them: the meter counts exactly their bytes
    group = f"/aws/lambda/{name}"

    def logged_and_counted():
        events = logs.filter_log_events(logGroupName=group)["events"]
        counted = usage(engine.endpoint)["logs"]["by_group"].get(group, {})
        return events, counted

    events, counted = wait_for(
        logged_and_counted, what=f"{group}'s REPORT line, and its bytes counted",
        until=lambda found: any("REPORT" in e["message"] for e in found[0])
        and found[1] == {"ingested_bytes": sum(len(e["message"].encode()) for e in found[0]), "events": len(found[0])})
    report = [e["message"] for e in events if "REPORT" in e["message"]]
    assert f"Duration: {billed['duration_ms']:.2f} ms" in report[0]  # the duration the REPORT line shows

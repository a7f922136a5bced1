"""Lab 10 (a testing framework): edalab.testing's event factories give the shapes AWS documents
(each parsed by the Powertools parser model for it), its contract helpers name the field at
fault, its integration helpers fail with messages that say what was awaited and what was seen,
the lab's own unit and contract tests pass offline, and the check tests the learner's test: a
weak end-to-end test lets mutants survive, and the check names each one and puts the correct
code back. (The reference test killing every mutant is the solution half of
tests/test_labs.py's both-ways test for lab 10.)
"""

import base64
import hashlib
import json
import re
import subprocess
import sys
import time

import pytest
from aws_lambda_powertools.utilities.parser.models import (APIGatewayProxyEventModel, EventBridgeModel, S3Model,
                                                           SnsModel, SqsModel)
from support import deploy_near_miss, settled_stack_contents, stack_contents

from edalab import bootstrap, labs, settings
from edalab.check_run import run_check
from edalab.testing import LambdaContext, contracts, events
from edalab.testing import integration as it


def test_each_factory_gives_the_shape_aws_documents():
    upload = S3Model.model_validate(events.s3_put("my-bucket", "incoming/a b.json", size=12)).Records[0]
    assert (upload.eventName, upload.s3.bucket.name, upload.s3.object.key, upload.s3.object.size) == (
        "ObjectCreated:Put", "my-bucket", "incoming/a+b.json", 12)  # URL-encoded, as S3 sends keys

    batch = events.sqs_batch([events.s3_put("b", "k.json"), "plain text"], queue="q", receive_count=3)
    parsed = SqsModel.model_validate(batch).Records
    assert [r.attributes.ApproximateReceiveCount for r in parsed] == ["3", "3"]
    assert json.loads(parsed[0].body)["Records"][0]["s3"]["object"]["key"] == "k.json" and parsed[1].body == "plain text"
    assert parsed[0].messageId != parsed[1].messageId and parsed[0].eventSourceARN.endswith(":q")

    note = SnsModel.model_validate(events.sns({"total": 7}, subject="hi", attributes={"tier": "gold", "n": 2}))
    sns = note.Records[0].Sns
    assert json.loads(sns.Message) == {"total": 7} and sns.Subject == "hi"
    assert {k: (v.Type, v.Value) for k, v in sns.MessageAttributes.items()} == {"tier": ("String", "gold"),
                                                                                 "n": ("Number", "2")}

    request = APIGatewayProxyEventModel.model_validate(events.api_gateway_proxy(
        "put", "/items/42", body={"name": "lamp"}, query={"dry": 1}, path_parameters={"id": "42"},
        resource="/items/{id}"))
    assert (request.httpMethod, request.resource, request.pathParameters, request.queryStringParameters) == (
        "PUT", "/items/{id}", {"id": "42"}, {"dry": "1"})
    assert json.loads(request.body) == {"name": "lamp"} and request.requestContext.stage == "dev"

    event = EventBridgeModel.model_validate(events.eventbridge("OrderPlaced", {"id": "o-1"}, source="shop.orders"))
    assert (event.detail_type, event.source, event.detail, event.account) == (
        "OrderPlaced", "shop.orders", {"id": "o-1"}, settings.ACCOUNT_ID)


def test_the_lambda_context_stand_in_has_the_runtimes_attributes_and_counts_down():
    context = LambdaContext("edalab-tested-processor", memory_mb=256, timeout_s=0.3)
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:000000000000:function:edalab-tested-processor"
    assert context.log_group_name == "/aws/lambda/edalab-tested-processor" and context.memory_limit_in_mb == 256
    assert 0 < context.get_remaining_time_in_millis() <= 300
    it.eventually(context.get_remaining_time_in_millis, "the time left to run out", timeout=2,
                  until=lambda left: left == 0)


def test_contract_reasons_name_the_field_and_a_bad_schema_file_is_refused(tmp_path):
    schema = contracts.load_schema("labs/10-testing/contracts/order-upload.schema.json")
    order = {"order_id": 7, "customer": "Ada", "items": [{"sku": "a", "qty": 1, "unit_price": 1},
                                                         {"sku": "b", "qty": True, "unit_price": -1}]}
    assert contracts.reasons(order, schema) == [
        "items/1/qty: True is not of type 'integer'", "items/1/unit_price: -1 is less than the minimum of 0",
        "order_id: 7 is not of type 'string'"]
    with pytest.raises(AssertionError, match=r"the upload does not match An order file .*\n  - items/1/qty"):
        contracts.assert_valid(order, schema, what="the upload")
    summary = contracts.load_schema("labs/10-testing/contracts/upload-summary.schema.json")
    assert contracts.reasons({"order_id": "a", "customer": "b", "item_count": 1, "total": 0.1 + 0.2}, summary) == [
        "total: 0.30000000000000004 is not a multiple of 0.01"]  # the unrounded total lab 02 warns of
    (tmp_path / "broken.json").write_text('{"type": "objet"}')
    with pytest.raises(contracts.ContractError, match="broken.json is not a valid JSON Schema: 'objet'"):
        contracts.load_schema(tmp_path / "broken.json")
    with pytest.raises(contracts.ContractError, match="cannot read the schema"):
        contracts.load_schema(tmp_path / "missing.json")


def test_the_labs_unit_and_contract_tests_pass_offline():
    """The lab's own examples of the pyramid's lower levels run without an engine."""
    lab_tests = settings.REPO_ROOT / "labs/10-testing/tests"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                             str(lab_tests / "test_unit_handlers.py"), str(lab_tests / "test_contracts.py")],
                            cwd=settings.REPO_ROOT, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                                 "EDALAB_ENDPOINT": "http://localhost:9"})  # nothing there: offline
    assert result.returncode == 0 and re.search(r"\d\d passed", result.stdout), result.stdout[-3000:]


def test_the_integration_helpers_fail_saying_what_they_waited_for(engine, monkeypatch, unique):
    monkeypatch.setenv("EDALAB_ENDPOINT", engine.endpoint)
    sqs, ddb, s3, logs = it.client("sqs"), it.client("dynamodb"), it.client("s3"), it.client("logs")
    table, bucket, group = f"helpers-{unique}", f"helpers-{unique}", f"/edalab/helpers-{unique}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}])
    s3.create_bucket(Bucket=bucket)
    source = sqs.create_queue(QueueName=f"helpers-{unique}")["QueueUrl"]
    dlq = sqs.create_queue(QueueName=f"helpers-{unique}-dlq")["QueueUrl"]
    logs.create_log_group(logGroupName=group)
    began = time.monotonic()

    with pytest.raises(AssertionError, match=rf"waited 1 s for the item \{{'key': 'k-1'\}} in table {table} to be "
                                             "there: no such item"):
        it.wait_for_item(table, {"key": "k-1"}, timeout=1)
    ddb.put_item(TableName=table, Item={"key": {"S": "k-1"}, "status": {"S": "REJECTED"}, "attempt": {"N": "3"}})
    with pytest.raises(AssertionError, match=r"to be there and match: the item is \{.*'status': 'REJECTED'"):
        it.wait_for_item(table, {"key": "k-1"}, timeout=1, until=lambda item: item["status"] == "PROCESSED")
    assert it.wait_for_item(table, {"key": "k-1"})["attempt"] == 3

    s3.put_object(Bucket=bucket, Key="processed/other.json", Body=b"{}")
    with pytest.raises(AssertionError, match=rf"s3://{bucket}/processed/k-1.json: it is not there \(beside it: "
                                             "processed/other.json\\)"):
        it.wait_for_object(bucket, "processed/k-1.json", timeout=1)
    assert it.wait_for_object(bucket, "processed/other.json") == b"{}"

    with pytest.raises(AssertionError, match=rf"the dead-letter queue helpers-{unique}-dlq: it never arrived"):
        it.wait_for_dead_letter(dlq, "k-1", timeout=1)
    sqs.send_message(QueueUrl=dlq, MessageBody='{"key": "k-1"}')  # put there directly: never received
    with pytest.raises(AssertionError, match="after 0 receive\\(s\\), not 3: it was put there without being retried"):
        it.wait_for_dead_letter(dlq, "k-1", receives=3, timeout=5)
    with pytest.raises(AssertionError, match=rf"on neither helpers-{unique} nor helpers-{unique}-dlq: the consumer "
                                             "deleted it"):
        it.wait_for_dead_letter(dlq, "k-2", receives=3, timeout=20, source=source)

    logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
        {"timestamp": int(time.time() * 1000), "message": '{"processed": "incoming/k-1.json", "attempt": 1}'}])
    assert it.wait_for_log_line(group, re.compile(r'"processed": "incoming/k-\d\.json"')).endswith('"attempt": 1}')
    with pytest.raises(AssertionError, match=rf"waited 1 s for a line with 'k-9' in log group {group}: none"):
        it.wait_for_log_line(group, "k-9", timeout=1)
    assert it.log_lines("/edalab/no-such-group", "k-1") == []

    with pytest.raises(AssertionError, match=r"waited 1 s for the answer; last saw: 41"):
        it.eventually(lambda: 41, "the answer", timeout=1, until=lambda n: n == 42)
    with pytest.raises(AssertionError, match=r"stack edalab-99-nothing is not deployed .*`make deploy LAB=99`"):
        it.stack_outputs("edalab-99-nothing")
    assert time.monotonic() - began < 30  # the early failure came well before its 20 s deadline


def _code_sha(folder):
    return base64.b64encode(hashlib.sha256(bootstrap.zip_folder(folder)).digest()).decode()


def test_a_weak_end_to_end_test_lets_mutants_survive_and_the_check_names_each(lab_engine, tmp_path):
    """The reference test without its "processed once" assertions: the check must fail naming
    the two mutants that only those assertions kill, and leave the correct code deployed."""
    lab = labs.find("10")
    mutants = lab.load_module("mutants.py")
    test_file = "labs/10-testing/tests/test_uploads_e2e.py"
    reference = (lab.solution_dir / test_file).read_text()
    weak_tail = reference[reference.index("    # processed once"):]
    deploy_near_miss(lab, lab_engine.endpoint, tmp_path, {test_file: [(weak_tail, "")]})
    before = settled_stack_contents(lab_engine.endpoint, lab.stack.name)  # S3's test event processed

    report = run_check(lab, lab_engine.endpoint)
    failure = report.first_failure
    assert failure is not None and failure.title.startswith("Your test fails against every mutant"), report.results
    assert "your test killed 4 of 6 mutants" in failure.message, failure.message
    survivors = re.findall(r"^  - ([a-z-]+):", failure.message, flags=re.MULTILINE)
    assert survivors == ["processes-twice", "retries-after-success"], failure.message
    assert report.cleanup_problems == []
    lam = lab_engine.client("lambda")
    assert lam.get_function_configuration(FunctionName=mutants.FUNCTION)["CodeSha256"] == _code_sha(mutants.HANDLER_DIR)
    after = stack_contents(lab_engine.endpoint, lab.stack.name)
    assert after == before, {k: (before.get(k), after.get(k)) for k in before if before.get(k) != after.get(k)}


def test_a_test_file_that_does_not_run_is_named_with_pytests_reason(lab_engine, tmp_path):
    lab = labs.find("10")
    broken = tmp_path / "labs/10-testing/tests/test_uploads_e2e.py"
    broken.parent.mkdir(parents=True)
    broken.write_text("def test_upload(:\n    pass\n")
    lab.load_module("post_deploy.py").apply(lab_engine.endpoint, tmp_path, print)
    try:
        failure = run_check(lab, lab_engine.endpoint).first_failure
    finally:
        labs.run_post_deploy(lab, lab_engine.endpoint)  # the learner's file again
    assert failure.title.startswith("Your end-to-end test passes against the correct processor")
    assert "did not run (pytest exit code 2)" in failure.message and "SyntaxError" in failure.message, failure.message
    assert failure.hint == 1

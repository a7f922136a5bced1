"""Lambda on the engine: invokes, errors, timeouts, logs and code updates behave as on AWS."""

from __future__ import annotations

import base64
import json
import os
import signal

import pytest

from edalab.waiting import wait_for
from support import HANDLERS, create_function, create_queue, function_pids, receive_all, zip_source


def _invoke(lam, name, event, **kwargs):
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event), **kwargs)
    return response, json.loads(response["Payload"].read() or b"null")


def test_sync_invoke_returns_the_handler_result(engine, unique):
    lam = engine.client("lambda")
    name = f"probe-sync-{unique}"
    create_function(lam, name, "probe.py")
    response, result = _invoke(lam, name, {"echo": {"n": 1}})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert result == {"echo": {"n": 1}, "version": "v1", "function": name}


def test_async_invoke_runs_and_a_handler_reaches_the_engine_with_plain_boto3(engine, unique):
    lam, sqs = engine.client("lambda"), engine.client("sqs")
    url, _ = create_queue(sqs, f"async-out-{unique}")
    name = f"probe-async-{unique}"
    create_function(lam, name, "probe.py")
    response = lam.invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps({"send_to": url, "body": {"k": unique}})
    )
    assert response["StatusCode"] == 202
    [message] = receive_all(sqs, url, expected=1)
    assert json.loads(message["Body"]) == {"k": unique}


def test_unhandled_error_has_type_message_and_stack_trace(engine, unique):
    lam = engine.client("lambda")
    name = f"probe-error-{unique}"
    create_function(lam, name, "probe.py")
    response, error = _invoke(lam, name, {"fail": "broken on purpose"})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "RuntimeError"
    assert error["errorMessage"] == "broken on purpose"
    assert isinstance(error["stackTrace"], list) and any("app.py" in line for line in error["stackTrace"])


def test_timeout_reports_like_aws_and_the_next_invoke_works(engine, unique):
    lam = engine.client("lambda")
    name = f"probe-timeout-{unique}"
    create_function(lam, name, "probe.py", timeout=1)
    response, error = _invoke(lam, name, {"sleep": 5}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]
    assert "Task timed out after 1.00 seconds" in base64.b64decode(response["LogResult"]).decode()
    response, result = _invoke(lam, name, {"echo": "again"})
    assert "FunctionError" not in response
    assert result["echo"] == "again"


def test_an_environment_killed_while_idle_is_replaced_and_every_later_invoke_works(engine, unique):
    """A process killed between invocations leaves its long poll for the next event open on
    the engine's side; that poll must not take the events meant for the process replacing it."""
    if engine.host is None:
        pytest.skip("needs the host engine, whose function processes the test can reach")
    lam = engine.client("lambda")
    name = f"probe-killed-{unique}"
    create_function(lam, name, "probe.py", timeout=3)

    for round_ in range(3):
        response, result = _invoke(lam, name, {"echo": round_})
        assert "FunctionError" not in response, result
        assert result["echo"] == round_
        # idle now, waiting for its next event: kill it there
        killed = wait_for(lambda: function_pids(engine, name), what=f"the process of {name}")
        for pid in killed:
            os.killpg(pid, signal.SIGKILL)
        wait_for(lambda: set(killed) & set(engine.host.function_processes()),
                 what=f"the killed process of {name} to be dead", until=lambda alive: not alive)
    response, result = _invoke(lam, name, {"echo": "after three kills"})
    assert "FunctionError" not in response, result
    assert result["echo"] == "after three kills"


def test_log_tail_has_start_end_and_report(engine, unique):
    lam = engine.client("lambda")
    name = f"probe-tail-{unique}"
    create_function(lam, name, "probe.py")
    response, _ = _invoke(lam, name, {"echo": 1}, LogType="Tail")
    tail = base64.b64decode(response["LogResult"]).decode()
    request_id = response["ResponseMetadata"]["RequestId"]
    assert f"START RequestId: {request_id} Version: $LATEST" in tail
    assert f"echo v1 {request_id}" in tail
    assert f"END RequestId: {request_id}" in tail
    assert f"REPORT RequestId: {request_id}" in tail and "Billed Duration" in tail


def test_large_output_does_not_stall_the_function(engine, unique):
    lam = engine.client("lambda")
    name = f"probe-chatty-{unique}"
    create_function(lam, name, "probe.py")
    response, result = _invoke(lam, name, {"print_bytes": 300_000})
    assert "FunctionError" not in response
    assert result == {"printed": 300_000}


def test_function_output_reaches_cloudwatch_logs(engine, unique):
    lam, logs = engine.client("lambda"), engine.client("logs")
    name = f"probe-logs-{unique}"
    create_function(lam, name, "probe.py")
    _invoke(lam, name, {"log_marker": unique})

    def marker_events():
        try:
            return logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern=unique)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return []

    events = wait_for(marker_events, what=f"the marker in /aws/lambda/{name}")
    assert any(f"marker {unique}" in e["message"] for e in events)


def test_update_function_code_takes_effect_on_the_next_invoke(engine, unique):
    lam = engine.client("lambda")
    name = f"probe-update-{unique}"
    create_function(lam, name, "probe.py")
    assert _invoke(lam, name, {"echo": 1})[1]["version"] == "v1"
    source = (HANDLERS / "probe.py").read_text().replace('VERSION = "v1"', 'VERSION = "v2"')
    lam.update_function_code(FunctionName=name, ZipFile=zip_source(source))
    wait_for(
        lambda: lam.get_function(FunctionName=name)["Configuration"]["LastUpdateStatus"],
        what="the code update to finish",
        until=lambda status: status == "Successful",
    )
    assert _invoke(lam, name, {"echo": 1})[1]["version"] == "v2"


def test_a_handler_that_cannot_import_reports_an_init_error(engine, unique):
    lam = engine.client("lambda")
    name = f"probe-broken-{unique}"
    lam.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Handler="app.handler",
        Role="arn:aws:iam::000000000000:role/edalab-test",
        Code={"ZipFile": zip_source("import not_a_module_anywhere\n")},
    )
    wait_for(lambda: lam.get_function(FunctionName=name)["Configuration"]["State"], what="Active",
             until=lambda s: s == "Active")
    response, error = _invoke(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert "not_a_module_anywhere" in error["errorMessage"]

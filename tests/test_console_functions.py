"""The Functions pages in a real browser: an invocation's own log lines open from the function
page, the invoke form shows a result or says what is wrong with the payload, and the list
shows lab 02's queue mapping. Plus the invocation parser on the exact lines the engine writes.

The invoked function is lab 00's recorder: a direct event with one unique key only makes it
log that key (`{"request_id": ..., "event_keys": [...]}`) and answer `{"ok": true}`.
"""

from __future__ import annotations

import json
import uuid

from browser import screenshot
from playwright.sync_api import expect

from edalab.console.invocations import parse_invocations

RECORDER = "edalab-welcome-recorder"  # lab 00's function


def invoke(lab_engine, payload: dict) -> str:
    """Invokes the recorder from the test (not the page); returns the request id."""
    answer = lab_engine.client("lambda").invoke(FunctionName=RECORDER, Payload=json.dumps(payload).encode())
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    return answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]


def test_an_invocations_log_lines_open_from_the_function_page(console_page, lab_engine):
    marker = f"console-{uuid.uuid4().hex[:8]}"
    console_page.goto(f"/functions/{RECORDER}")
    request_id = invoke(lab_engine, {marker: 1})
    invocation = console_page.locator(f'details[data-request-id="{request_id}"]')
    expect(invocation).to_be_visible(timeout=10_000)  # arrives by the page's own polling, no reload
    expect(invocation.locator("summary")).to_contain_text("ok")
    expect(invocation.locator("summary")).to_contain_text(" ms")
    invocation.locator("summary").click()
    lines = invocation.locator(".fn-log li")
    expect(lines.first).to_contain_text(f"START RequestId: {request_id}", timeout=5_000)
    expect(lines.last).to_contain_text(f"REPORT RequestId: {request_id}")
    pretty = invocation.locator("pre.json")
    expect(pretty).to_contain_text(marker)
    assert '"event_keys": [\n' in pretty.inner_text(), "the JSON line is pretty-printed"
    assert console_page.locator(".fn-log").count() == 1, "only the invocation clicked is open"
    # it stays open while the page keeps polling
    with console_page.expect_response(lambda r: r.url.endswith(f"/functions/{RECORDER}")):
        pass
    expect(invocation).to_have_attribute("open", "")
    expect(pretty).to_be_visible()
    screenshot(console_page, "function-invocation")


def test_the_invoke_form_shows_the_result_and_log_tail_or_what_is_wrong(console_page):
    marker = f"form-{uuid.uuid4().hex[:8]}"
    console_page.goto(f"/functions/{RECORDER}")
    console_page.fill("#payload", json.dumps({marker: True}))
    console_page.get_by_role("button", name="Invoke").click()
    result = console_page.locator("#invoke-result")
    expect(result).to_contain_text("status 200", timeout=10_000)
    expect(result.locator(".fn-payload")).to_contain_text('"ok": true')
    expect(result.locator(".fn-tail")).to_contain_text("START RequestId:")
    expect(result.locator(".fn-tail")).to_contain_text(marker)  # the log tail, base64-decoded
    screenshot(console_page, "function-invoke")

    console_page.fill("#payload", "{not json")
    with console_page.expect_response(lambda r: r.url.endswith("/invoke")) as answer:
        console_page.get_by_role("button", name="Invoke").click()
    assert answer.value.status == 400
    expect(result.get_by_role("alert")).to_contain_text("not JSON")
    expect(result.locator(".fn-payload")).to_have_count(0)

    console_page.fill("#payload", json.dumps({"big": "x" * 300_000}))
    with console_page.expect_response(lambda r: r.url.endswith("/invoke")) as answer:
        console_page.get_by_role("button", name="Invoke").click()
    assert answer.value.status == 413
    expect(result.get_by_role("alert")).to_contain_text("at most 256 KB")


def test_the_list_shows_lab_02s_queue_mapping_and_an_unknown_function_is_a_404(console_page):
    console_page.goto("/functions")
    row = console_page.locator('tr[data-function="edalab-upload-processor"]')
    trigger = row.locator('.fn-trigger[data-kind="queue"]')
    expect(trigger.locator('a[href="/queues/edalab-uploads"]')).to_have_text("edalab-uploads")
    expect(trigger).to_contain_text("Enabled")
    expect(trigger).to_contain_text("batch size: 5")
    expect(row).to_contain_text("256 MB")
    expect(console_page.locator('tr[data-function="edalab-welcome-recorder"] .fn-trigger[data-kind="topic"]')).to_contain_text(
        "edalab-welcome-news")
    assert console_page.locator("#live").get_attribute("hx-trigger") == "every 2s"
    screenshot(console_page, "functions")

    answer = console_page.goto("/functions/edalab-no-such-function")
    assert answer.status == 404
    expect(console_page.locator(".message")).to_contain_text("no function named 'edalab-no-such-function'")


def event(stream: str, message: str, timestamp: int = 1_000) -> dict:
    return {"logStreamName": stream, "timestamp": timestamp, "message": message}


def test_invocations_are_cut_by_request_id_per_stream_with_their_report_and_errors():
    """Two environments (streams) write at once; one cold start times out, one raises."""
    a, b = "2026/11/24/[$LATEST]aaa", "2026/11/24/[$LATEST]bbb"
    events = [
        event(a, "END RequestId: old\n", 900), event(a, "REPORT RequestId: old\tDuration: 1.00 ms\t\n", 900),
        event(a, "loading config\n", 1_000),  # module level, before the first START
        event(a, "START RequestId: r1 Version: $LATEST\n", 1_000),
        event(b, "START RequestId: r2 Version: $LATEST\n", 1_100),
        event(a, "2026-11-24T01:58:44.857Z r1 Task timed out after 1.00 seconds\n", 1_000),
        event(b, '{"level": "INFO", "message": "hi"}\n', 1_100),
        event(b, "[ERROR] RuntimeError: boom\rTraceback (most recent call last):\r\xa0\xa0File \"/var/task/app.py\"\n", 1_100),
        event(b, "  more of the trace\n", 1_100),
        event(a, "END RequestId: r1\n", 1_000),
        event(a, "REPORT RequestId: r1\tDuration: 1000.67 ms\tBilled Duration: 1001 ms\tMemory Size: 128 MB\t"
                 "Max Memory Used: 50 MB\tInit Duration: 321.50 ms\t\n", 1_000),
        event(b, "END RequestId: r2\n", 1_100),
        event(b, "REPORT RequestId: r2\tDuration: 4.70 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\t"
                 "Max Memory Used: 50 MB\tStatus: error\t\n", 1_100),
        event(a, "START RequestId: r3 Version: $LATEST\n", 1_200),
    ]
    r3, r2, r1 = parse_invocations(events)
    assert [r3.request_id, r2.request_id, r1.request_id] == ["r3", "r2", "r1"]  # newest first
    assert r1.lines[0] == "loading config\n" and len(r1.lines) == 5 and r1.stream == a
    assert (r1.duration_ms, r1.billed_ms, r1.memory_mb, r1.max_memory_mb, r1.init_ms) == (1000.67, 1001, 128, 50, 321.5)
    assert r1.failed and r1.error[0] == "Timeout" and r1.cold_start and r1.finished
    assert r2.error == ("RuntimeError", "boom") and r2.status == "error" and not r2.cold_start
    assert len(r2.lines) == 5, "the error's trace, over two events, is one record"
    shown = r2.shown_lines()
    assert shown[1]["json"] == '{\n  "level": "INFO",\n  "message": "hi"\n}' and shown[2]["error"]
    assert "\r" not in shown[2]["text"] and "more of the trace" in shown[2]["text"]
    assert not r3.finished and not r3.failed and r3.lines == ["START RequestId: r3 Version: $LATEST\n"]


def test_a_long_invocation_from_the_form_does_not_stop_other_pages(console, lab_engine, unique):
    """The invoke form waits as long as the function runs; meanwhile every other tab keeps
    polling. A function sleeping 4 s is invoked through the form (a POST from the console's own
    origin); while that POST is still open, the Queues page answers."""
    import threading
    import urllib.error
    import urllib.parse
    import urllib.request

    from edalab.waiting import wait_for

    from support import create_function

    lam = lab_engine.client("lambda")
    name = f"console-sleeper-{unique}"
    create_function(lam, name, "probe.py", timeout=10)
    try:
        def page_status(path: str) -> int:
            try:
                with urllib.request.urlopen(f"{console.url}{path}", timeout=10) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code
        wait_for(lambda: page_status(f"/functions/{name}"), what=f"the console to know {name}",
                 until=lambda status: status == 200, timeout=30)
        lam.invoke(FunctionName=name, Payload=b"{}")  # warm: the form's invocation is then the 4 s sleep alone
        answered: dict = {}

        def post_invoke() -> None:
            body = urllib.parse.urlencode({"payload": json.dumps({"sleep": 4})}).encode()
            request = urllib.request.Request(f"{console.url}/functions/{name}/invoke", data=body, method="POST",
                                             headers={"Origin": console.url, "HX-Request": "true"})
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    answered["status"] = response.status
            except urllib.error.HTTPError as error:
                answered["status"] = error.code
        invoking = threading.Thread(target=post_invoke)
        invoking.start()
        # wait until the invocation is surely running (its POST has been open a moment)
        invoking.join(timeout=1.0)
        assert invoking.is_alive(), f"the 4 s invocation answered within 1 s ({answered}): the test proves nothing"
        with urllib.request.urlopen(f"{console.url}/queues", timeout=3) as other:
            assert other.status == 200
        assert invoking.is_alive(), "the other page answered only after the invocation ended"
        invoking.join(timeout=30)
        assert answered.get("status") == 200
    finally:
        lam.delete_function(FunctionName=name)

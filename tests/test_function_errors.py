"""Reading a function's error from the shapes a Lambda log line takes, and pointing it at the
learner's own file: the runtime's [ERROR] line, a Powertools Logger exception, the
platform's timeout; paths of the host engine (.../code/) and of a Lambda container
(/var/task/). No engine needed: these are the exact lines the engine writes."""

from __future__ import annotations

import json

from edalab.function_errors import FunctionError, _locate, log_records, parse_error

HOST_PATH = "/tmp/lambda/awslambda-us-east-1-tasks/failer-b0dd/code/app.py"
RUNTIME_LINE = (
    "[ERROR] AttributeError: 'dict' object has no attribute 'nope'\rTraceback (most recent call last):\r"
    f"\xa0\xa0File \"{HOST_PATH}\", line 6, in handler\r\xa0\xa0\xa0\xa0return helper(event)\r"
    f"\xa0\xa0File \"{HOST_PATH}\", line 3, in helper\r\xa0\xa0\xa0\xa0return x.nope\n"
)


def located(line: str, handler_dir: str | None = "handlers/demo") -> FunctionError:
    error_type, message, trace = parse_error(line)
    return _locate(FunctionError("edalab-demo", handler_dir, error_type, message, trace=trace))


def test_the_runtimes_error_line_points_at_the_deepest_frame_of_the_learners_code():
    error = located(RUNTIME_LINE)
    assert (error.error_type, error.message) == ("AttributeError", "'dict' object has no attribute 'nope'")
    assert (error.file, error.line, error.code) == ("handlers/demo/app.py", 3, "return x.nope")
    assert error.describe() == ("edalab-demo failed with AttributeError: 'dict' object has no attribute 'nope'\n"
                                "  at handlers/demo/app.py, line 3: return x.nope")


def test_a_powertools_exception_in_a_lambda_container_skips_library_frames():
    trace = ("Traceback (most recent call last):\n"
             '  File "/var/task/app.py", line 40, in record_handler\n    charge(record.bodyy)\n'
             '  File "/var/lang/lib/python3.13/site-packages/aws_lambda_powertools/x.py", line 9, in f\n    raise\n'
             "AttributeError: 'SQSRecord' object has no attribute 'bodyy'")
    line = json.dumps({"level": "ERROR", "message": "charge failed", "exception": trace,
                       "exception_name": "AttributeError"})
    error = located(line)
    assert (error.error_type, error.message) == ("AttributeError", "charge failed")
    assert (error.file, error.line, error.code) == ("handlers/demo/app.py", 40, "charge(record.bodyy)")


def test_a_timeout_and_ordinary_lines():
    assert parse_error("2026-11-23T10:00:00Z 11d3 Task timed out after 2.00 seconds")[:2] == (
        "Timeout", "Task timed out after 2.00 seconds")
    for ordinary in ("START RequestId: 1 Version: $LATEST", '{"level": "INFO", "message": "hi"}', "plain text",
                     "REPORT RequestId: 1\tDuration: 2.61 ms"):
        assert parse_error(ordinary) is None


def test_an_error_with_no_frame_of_the_learners_code_names_no_file():
    line = "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'requests'\r"
    error = located(line)
    assert error.error_type == "Runtime.ImportModuleError" and "No module named 'requests'" in error.message
    assert error.file is None and error.describe().endswith("No module named 'requests'")


def test_a_batch_processors_error_names_the_records_own_error_from_the_events_it_spans():
    """Powertools' BatchProcessingError carries each record's traceback in its message; its
    newlines split it over several log events. The learner's error is the wrapped one."""
    outer = f"\rTraceback (most recent call last):\r\xa0\xa0File \"{HOST_PATH}\", line 85, in handler\r" \
            "\xa0\xa0\xa0\xa0return process_partial_response(event=event)\r\xa0\xa0File \"/x/powertools/base.py\", line 9"
    events = ["START RequestId: 1 Version: $LATEST\n",
              "[ERROR] BatchProcessingError: All records failed processing. 1 individual errors logged separately below.\n",
              "Traceback (most recent call last):\n",
              '  File "/work/.venv/lib/python3.13/site-packages/aws_lambda_powertools/utilities/batch/base.py", line 564\n',
              "    result = self.handler(record=data)\n",
              f'  File "{HOST_PATH}", line 77, in record_handler\n',
              "    payment = parse_payment(record.bodyy)\n",
              "                            ^^^^^^^^^^^^\n",
              "AttributeError: 'SQSRecord' object has no attribute 'bodyy'. Did you mean: 'body'?\n",
              outer,
              "END RequestId: 1\n"]
    records = log_records(events)
    assert len(records) == 3 and records[0].startswith("START") and records[2].startswith("END")
    error = located(records[1])
    assert error.error_type == "AttributeError" and error.message.startswith("'SQSRecord' object has no attribute")
    assert (error.file, error.line, error.code) == ("handlers/demo/app.py", 77, "payment = parse_payment(record.bodyy)")

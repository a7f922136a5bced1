"""The engine right after its start: every service the labs and the console use answers, with
our fixes in place, although the start no longer imports those services (#18, a faster start).

What the start leaves for later, and what proves it still happens:
- our fixes to Lambda, SQS, SNS and SES are applied when LocalStack first imports that code
  (`edalab.plugins.on_import`): the first requests below meet them (MaximumConcurrency refused
  as AWS does; an SNS email carries Publish's Subject and reaches the Maildir over SMTP);
- the mail relay's SMTP sink greets at once (LocalStack's TLS sniffing made it wait 1 s);
- LocalStack's service catalog is built once per machine and handed to each new state folder
  (`edalab.plugins.faststart.service_catalog`), before the engine serves;
- garbage collection is off while the engine starts and on again once it is ready
  (`edalab.plugins.faststart.gc_pause`).
Speed is measured by `make bench` (bench/figures_start.py), never here.
"""

from __future__ import annotations

import gc
import importlib
import json
import logging
import mailbox
import sys
import threading
import types
import urllib.request
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from edalab import aws
from edalab.engine.host import HostEngine
from edalab.plugins.faststart import gc_pause, service_catalog
from edalab.plugins.on_import import when_imported
from edalab.waiting import wait_for
from support import free_port

# One cheap call per service the labs' templates, checks and tools and the console use.
AWS_CALLS = {
    "cloudformation": lambda c: c.list_stacks(),
    "s3": lambda c: c.list_buckets(),
    "sqs": lambda c: c.list_queues(),
    "sns": lambda c: c.list_topics(),
    "lambda": lambda c: c.list_functions(),
    "dynamodb": lambda c: c.list_tables(),
    "iam": lambda c: c.list_roles(),
    "sts": lambda c: c.get_caller_identity(),
    "events": lambda c: c.list_rules(),
    "logs": lambda c: c.describe_log_groups(),
    "cloudwatch": lambda c: c.describe_alarms(),
    "apigateway": lambda c: c.get_rest_apis(),
    "ses": lambda c: c.list_identities(),
    "ssm": lambda c: c.describe_parameters(),
}
# The engine's own routes the console and the tools read.
DEVELOPER_ROUTES = ("/_localstack/health", "/_localstack/info", "/_aws/ses", "/_aws/sns/sms-messages",
                    "/_edalab/usage", "/_edalab/lambda/cpu")


def _catalog_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("service-catalog-*.dill"))


def _engine_cache(engine: HostEngine) -> Path:
    return engine.state / "filesystem/var/lib/localstack/cache"


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    """An empty shared cache of our own, so the tests see the catalog made and handed over."""
    folder = tmp_path_factory.mktemp("shared-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDALAB_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="module")
def fresh_engine(shared_cache, tmp_path_factory):
    engine = HostEngine(tmp_path_factory.mktemp("fresh-start"), free_port())
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()


def test_every_service_the_labs_use_answers_right_after_start(fresh_engine):
    # the first request each service gets, straight after the health check said yes
    failed = {}
    for service, call in AWS_CALLS.items():
        try:
            call(aws.client(service, fresh_engine.endpoint))
        except Exception as error:  # noqa: BLE001 - every failure is reported together
            failed[service] = f"{type(error).__name__}: {error}"
    for route in DEVELOPER_ROUTES:
        try:
            with urllib.request.urlopen(fresh_engine.endpoint + route, timeout=30) as answer:
                json.loads(answer.read())
        except Exception as error:  # noqa: BLE001
            failed[route] = f"{type(error).__name__}: {error}"
    assert not failed, f"not answering right after start: {failed}"


def test_fixes_patched_on_first_import_are_in_place_for_the_first_requests(fresh_engine):
    endpoint = fresh_engine.endpoint
    # Lambda (sqs_polling.py, patched when LocalStack imports its Lambda provider): AWS refuses
    # a MaximumConcurrency under 2; stock LocalStack accepts it
    queue_arn = aws.client("sqs", endpoint).get_queue_attributes(
        QueueUrl=aws.client("sqs", endpoint).create_queue(QueueName="start-orders")["QueueUrl"],
        AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    unchecked = Config(parameter_validation=False)  # boto3 itself refuses 1 before sending
    with pytest.raises(ClientError) as refused:
        aws.client("lambda", endpoint, config=unchecked).create_event_source_mapping(
            FunctionName="start-nothing", EventSourceArn=queue_arn, ScalingConfig={"MaximumConcurrency": 1})
    assert "maximumConcurrency" in str(refused.value)

    # SNS (email_subject.py), SES (the relay's wiring) and the SMTP sink, all first used here
    sns = aws.client("sns", endpoint)
    topic = sns.create_topic(Name="start-alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@edalab.local")
    sns.publish(TopicArn=topic, Subject="engine started", Message="first email after start")

    def delivered():
        box = mailbox.Maildir(fresh_engine.state / "mail", create=False)
        return [box.get_message(key) for key in box.keys()]

    emails = wait_for(delivered, what="the SNS email in the engine's Maildir", timeout=30)
    assert emails[0]["Subject"] == "engine started"
    assert "first email after start" in emails[0].get_payload(decode=True).decode()


def test_the_service_catalog_is_built_once_and_handed_to_a_new_state_folder(fresh_engine, shared_cache, tmp_path):
    # the first engine on a machine (an empty shared cache) builds it once it is ready, and shares it
    shared = wait_for(lambda: _catalog_files(shared_cache), what="the service catalog in the shared cache",
                      timeout=120)
    built = _catalog_files(_engine_cache(fresh_engine))
    # named for the versions that can read it back: LocalStack's and botocore's, Python's and dill's
    assert [path.name for path in shared] == [service_catalog.shared_name(path.name) for path in built]
    assert f"-cpython{sys.version_info.major}_{sys.version_info.minor}-dill" in shared[0].name

    # a new state folder has it before its first request: copied while the engine started
    second = HostEngine(tmp_path / "second-start", free_port())
    second.start()
    try:
        assert [path.name for path in _catalog_files(_engine_cache(second))] == [path.name for path in built]
        assert _catalog_files(_engine_cache(second))[0].read_bytes() == shared[0].read_bytes()
        assert aws.client("sts", second.endpoint).get_caller_identity()["Account"] == "000000000000"
    finally:
        second.stop()

    # a shared copy that does not load (cut short) is handed over once, then removed, with the
    # engine's copy of it: the next start builds a good one instead of failing to load it for good
    shared[0].write_bytes(shared[0].read_bytes()[:1000])
    third = HostEngine(tmp_path / "third-start", free_port())
    third.start()
    try:
        assert aws.client("sts", third.endpoint).get_caller_identity()["Account"] == "000000000000"
        wait_for(lambda: not shared[0].exists() and not _catalog_files(_engine_cache(third)),
                 what="the unloadable catalog removed from the shared and the engine's cache", timeout=60)
    finally:
        third.stop()


def test_a_patch_waits_for_its_module_runs_at_once_when_it_is_loaded_and_a_broken_one_is_logged(
        tmp_path, monkeypatch, caplog):
    (tmp_path / "edalab_start_probe.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "edalab_start_probe", raising=False)
    seen = []
    when_imported("edalab_start_probe", lambda module: seen.append(("after import", module.VALUE)))
    when_imported("edalab_start_probe", lambda module: 1 / 0)
    assert seen == []  # nothing imported it yet

    with caplog.at_level(logging.ERROR, logger="edalab.plugins.on_import"):
        import edalab_start_probe  # noqa: F401 - the import is the point

    assert seen == [("after import", 1)]
    assert "could not apply" in caplog.text  # the broken patch is reported, the import went on
    when_imported("edalab_start_probe", lambda module: seen.append(("already imported", module.VALUE)))
    assert seen[-1] == ("already imported", 1)


def _waiting_in_an_import(thread: threading.Thread) -> bool:
    """True once `thread` waits in the import system (for another thread's import to end)."""
    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        if frame.f_code.co_name == "_find_and_load":
            return True
        frame = frame.f_back
    return False


def test_a_patch_for_a_module_another_thread_is_still_importing_waits_until_its_body_has_run(
        tmp_path, monkeypatch):
    gate = types.ModuleType("edalab_start_gate")
    gate.entered, gate.go_on = threading.Event(), threading.Event()
    monkeypatch.setitem(sys.modules, "edalab_start_gate", gate)
    (tmp_path / "edalab_half_probe.py").write_text(
        "import edalab_start_gate as gate\n"
        "gate.entered.set()\n"
        "gate.go_on.wait(30)\n"
        "def answer():\n    return 'original'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "edalab_half_probe", raising=False)
    importer = threading.Thread(target=importlib.import_module, args=("edalab_half_probe",), daemon=True)
    importer.start()
    wait_for(gate.entered.is_set, what="the probe module's body under way", timeout=10)
    assert "edalab_half_probe" in sys.modules  # half executed: no answer() yet

    def patch(module):
        module.answer = lambda: "patched"

    patcher = threading.Thread(target=when_imported, args=("edalab_half_probe", patch), daemon=True)
    patcher.start()
    # the patcher either waits for the import (right) or has patched the half-run module already (wrong)
    wait_for(lambda: not patcher.is_alive() or _waiting_in_an_import(patcher),
             what="the patcher waiting for the import", timeout=10)
    gate.go_on.set()
    importer.join(timeout=10)
    patcher.join(timeout=10)
    assert sys.modules["edalab_half_probe"].answer() == "patched"


def test_collection_pauses_for_the_start_and_resumes_with_the_start_objects_frozen(monkeypatch):
    monkeypatch.delenv("EDALAB_STOCK_SERVICES", raising=False)
    assert gc.isenabled()
    try:
        gc_pause.pause_collection()
        assert not gc.isenabled()
        gc_pause.resume_collection()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()

"""`make aws-plan LAB=NN` packages a lab for a real AWS account offline: handler zips that carry
Powertools and import on their own, a template for `aws cloudformation package` that cfn-lint
passes with no rule silenced, the AWS CLI commands, and nothing sent anywhere. Bad input (an
unknown lab, no template, a LocalStack-only endpoint, an import nothing provides) is a message.
No engine is needed: this path is offline by design."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
import yaml

from edalab import aws_plan, labs, settings
from edalab.aws_packaging import cfn_template, dependencies
from edalab.safety import is_local_endpoint

LAB11 = settings.REPO_ROOT / "labs" / "11-capstone-feedback"


def _plan(lab: str, solution: bool = False) -> tuple[int, str]:
    lines: list[str] = []
    code = aws_plan.main(argparse.Namespace(lab=lab, solution=solution), say=lines.append)
    return code, "\n".join(lines)


@pytest.fixture
def state(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("EDALAB_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


class _Recorder:
    """A TCP listener that notes every connection: whatever would have been sent lands here."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.connections.append(conn.recv(200))
                except OSError:
                    self.connections.append(b"")

    def close(self) -> None:
        self.server.close()


@pytest.fixture(scope="module")
def lab11_plan(tmp_path_factory) -> tuple[subprocess.CompletedProcess, list[bytes], Path]:
    """`make aws-plan LAB=11 SOLUTION=1` as a learner runs it, with real-looking credentials in
    the shell and every AWS endpoint and proxy pointing at a listener that records any connection."""
    state = tmp_path_factory.mktemp("aws-plan-state")
    recorder = _Recorder()
    url = f"http://127.0.0.1:{recorder.port}"
    env = {**os.environ, "EDALAB_STATE_DIR": str(state), "EDALAB_ENDPOINT": url,
           "AWS_ENDPOINT_URL": url, "HTTP_PROXY": url, "HTTPS_PROXY": url, "http_proxy": url, "https_proxy": url,
           "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
           "AWS_PROFILE": "production", "AWS_REGION": "eu-west-1"}
    try:
        done = subprocess.run([sys.executable, "-m", "edalab", "aws-plan", "11", "--solution"], cwd=settings.REPO_ROOT,
                              env=env, capture_output=True, text=True, timeout=180)
    finally:
        recorder.close()
    return done, recorder.connections, state / "aws-plan" / "11"


def test_lab11s_plan_zips_powertools_passes_cfn_lint_and_sends_nothing(lab11_plan):
    done, connections, folder = lab11_plan
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert connections == []  # nothing left the process: no engine call, no AWS call
    assert "Traceback" not in out + done.stderr
    assert out.count("Checked offline only") >= 2  # said at the start and at the end
    assert "cfn-lint" in out and "none ignored" in out and ": no findings" in out
    for command in ("aws s3 mb", "aws cloudformation package --template-file template.yaml",
                    "aws cloudformation deploy --template-file packaged.yaml --stack-name edalab-11-capstone-feedback",
                    "--capabilities CAPABILITY_NAMED_IAM", "OutputKey=='ApiUrl'",
                    "aws cloudformation delete-stack --stack-name edalab-11-capstone-feedback",
                    "AlarmPeriod=60", "'<your-email-address>'", "'<your-phone-number>'"):  # AWS values, your addresses
        assert command in out, command

    source = yaml.safe_load((folder / "template.yaml").read_text())  # long form: plain YAML
    codes = {name: r["Properties"]["Code"] for name, r in source["Resources"].items()
             if r["Type"] == "AWS::Lambda::Function"}
    assert sorted(codes.values()) == ["handlers/feedback_intake.zip", "handlers/feedback_store.zip"]
    assert "CodeBucket" not in source.get("Parameters", {}) and "EdaLab" not in source.get("Metadata", {})
    preview = yaml.safe_load((folder / "packaged-preview.yaml").read_text())
    for name in codes:
        code = preview["Resources"][name]["Properties"]["Code"]
        assert code["S3Bucket"] == "your-artifact-bucket" and len(code["S3Key"]) == 32  # package's MD5 key
    assert (folder / "commands.sh").read_text().startswith("#!/bin/sh")


def test_a_zip_holds_the_handler_and_powertools_and_runs_with_only_the_runtime_beside_it(lab11_plan, tmp_path):
    assert lab11_plan[0].returncode == 0, lab11_plan[0].stdout
    data = (lab11_plan[2] / "handlers" / "feedback_intake.zip").read_bytes()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "app.py" in names and "aws_lambda_powertools/__init__.py" in names and "typing_extensions.py" in names
    assert any(n.startswith("aws_lambda_powertools-") and n.endswith(".dist-info/METADATA") for n in names)
    assert not [n for n in names if n.split("/")[0] in ("boto3", "botocore")]  # the runtime carries those
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]

    # A fresh, isolated interpreter: on its path only the zip itself and boto3 with what it needs.
    zip_path = tmp_path / "feedback_intake.zip"
    zip_path.write_bytes(data)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for name, installed in dependencies.runtime_paths().items():
        (runtime / name).symlink_to(installed)
    function = next(f for f in cfn_template.for_package(cfn_template.load(
        LAB11 / "solution/files/labs/11-capstone-feedback/template.yaml")).functions if f.handler_folder == "feedback_intake")
    env = {name: "placeholder" for name in function.environment} | {
        "PATH": os.environ["PATH"], "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test", "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "POWERTOOLS_SERVICE_NAME": "feedback-intake"}
    script = f"""
import json, sys, types
sys.path[:0] = [{str(zip_path)!r}, {str(runtime)!r}]
import app, aws_lambda_powertools
context = types.SimpleNamespace(function_name="feedback-intake", memory_limit_in_mb=256, aws_request_id="r-1",
                                invoked_function_arn="arn:aws:lambda:us-east-1:000000000000:function:feedback-intake")
event = {{"httpMethod": "POST", "resource": "/feedback", "path": "/feedback", "headers": {{}}, "body": "not json"}}
answer = app.handler(event, context)
print(json.dumps({{"powertools": aws_lambda_powertools.__file__, "status": answer["statusCode"],
                  "outside": sorted({{m.split(".")[0] for m, v in list(sys.modules.items())
                                     if getattr(v, "__file__", None) and not v.__file__.startswith(
                                         ({str(zip_path)!r}, {str(runtime)!r}, sys.base_prefix))}})}}))
"""
    done = subprocess.run([sys.executable, "-I", "-S", "-c", script], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["powertools"].startswith(str(zip_path))  # Powertools came from the zip
    assert result["status"] == 400  # the handler ran: malformed JSON refused, nothing sent
    assert result["outside"] == []  # nothing from this project's .venv


def test_lab11s_pristine_template_warns_and_still_packages(state):
    code, out = _plan("11")  # the exercise's parameters are unused until the learner adds the pipeline
    assert code == 0 and "W2001" in out and not re.search(r"^  E\d{4}", out, re.MULTILINE), out


def test_lab02_plan_lints_clean_and_is_reproducible(state):
    code, out = _plan("02")
    assert code == 0, out
    assert "handlers/upload_processor.zip" in out and "vendored: nothing (standard library only)" in out
    assert "cfn-lint" in out and ": no findings" in out
    assert "'edalab-uploads' may already be taken" in out  # bucket names are global on AWS
    assert "aws s3 rm s3://edalab-uploads --recursive" in out  # emptied before the stack is deleted
    first = (state / "aws-plan" / "02" / "packaged-preview.yaml").read_text()
    assert _plan("02")[0] == 0
    assert (state / "aws-plan" / "02" / "packaged-preview.yaml").read_text() == first  # same zips, same keys


def _fake_lab(tmp_path, monkeypatch, template_edits=(), handler: str | None = None, template: bool = True) -> None:
    """labs/99-fake: lab 02's template (edited), its solution's handler replaced by `handler`."""
    folder = tmp_path / "labs" / "99-fake"
    (folder / "solution/files/handlers/upload_processor").mkdir(parents=True)
    (folder / "lab.yaml").write_text("title: Fake\ngoal: a test's lab\n")
    if template:
        text = (settings.REPO_ROOT / "labs/02-s3-sqs-lambda/template.yaml").read_text()
        for old, new in template_edits:
            assert old in text
            text = text.replace(old, new)
        (folder / "template.yaml").write_text(text)
    source = settings.REPO_ROOT / "handlers/upload_processor/app.py"
    (folder / "solution/files/handlers/upload_processor/app.py").write_text(handler or source.read_text())
    monkeypatch.setattr(labs, "LABS_DIR", tmp_path / "labs")


def test_cfn_lint_runs_every_rule_even_when_the_template_or_a_config_file_silences_it(state, tmp_path, monkeypatch):
    _fake_lab(tmp_path, monkeypatch, [(
        "  ProcessorMapping:\n    Type: AWS::Lambda::EventSourceMapping\n",
        "  ProcessorMapping:\n    Type: AWS::Lambda::EventSourceMapping\n"
        "    Metadata:\n      cfn-lint:\n        config:\n          ignore_checks: [E3012]\n"),
        ("BatchSize: 5", "BatchSize: five")])
    (tmp_path / ".cfnlintrc").write_text("ignore_checks:\n  - E3012\n")
    monkeypatch.chdir(tmp_path)
    code, out = _plan("99", solution=True)
    assert code == 1
    assert "E3012" in out and "'five' is not of type 'integer'" in out
    assert "asks cfn-lint to skip E3012" in out
    assert "Not ready for AWS" in out and "aws cloudformation deploy" not in out


def test_bad_input_is_a_message_never_a_traceback(state, tmp_path, monkeypatch):
    code, out = _plan("42")
    assert code == 2 and "'42' is not a lab" in out and "02 (" in out

    _fake_lab(tmp_path, monkeypatch, template=False)
    code, out = _plan("99")
    assert code == 2 and "has no template.yaml" in out

    shutil.rmtree(tmp_path / "labs")
    local = ('"""A docstring may say localhost:4566."""\nimport boto3\nimport os\n\n'
             'sqs = boto3.client("sqs", endpoint_url=os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566"))\n\n\n'
             'def handler(event, context):\n    return {}\n')
    _fake_lab(tmp_path, monkeypatch, handler=local)
    code, out = _plan("99", solution=True)
    assert code == 1 and "LocalStack-only endpoints" in out
    assert "app.py:5: passes endpoint_url=" in out and "'AWS_ENDPOINT_URL'" in out and "'localhost'" in out
    assert "app.py:1:" not in out  # the docstring is not code

    shutil.rmtree(tmp_path / "labs")
    _fake_lab(tmp_path, monkeypatch, handler="import surely_not_installed_xyz\n\n\ndef handler(event, context):\n    pass\n")
    code, out = _plan("99", solution=True)
    assert code == 1 and "imports surely_not_installed_xyz" in out and "no package installed in .venv provides it" in out

    shutil.rmtree(tmp_path / "labs")
    _fake_lab(tmp_path, monkeypatch, handler="def handler(event, context:\n    pass\n")
    code, out = _plan("99", solution=True)
    assert code == 1 and "app.py line 1 does not parse" in out
    assert not (state / "aws-plan" / "99").exists()  # no half-made plan

    shutil.rmtree(tmp_path / "labs")
    _fake_lab(tmp_path, monkeypatch, [("QUEUE_URL: !Ref UploadsQueue", "QUEUE_URL: http://localhost:4566/000000000000/q")])
    code, out = _plan("99")
    assert code == 1 and "Resources.Forwarder.Properties.Environment.Variables.QUEUE_URL" in out
    assert "Traceback" not in out


def test_a_plan_folder_it_cannot_write_is_a_message_saying_what_to_do(state, monkeypatch):
    state.mkdir(parents=True)
    (state / "aws-plan").write_text("a file where the plans' folder should be\n")  # writes fail, even as root
    code, out = _plan("02")
    assert code == 1 and "Traceback" not in out
    assert f"could not write the plan to {state / 'aws-plan' / '02'}" in out
    assert "Make room on the disk or make that folder writable" in out and "EDALAB_STATE_DIR" in out

    if os.geteuid() != 0:  # a read-only state folder (root writes anyway)
        (state / "aws-plan").unlink()
        state.chmod(0o555)
        try:
            code, out = _plan("02")
        finally:
            state.chmod(0o755)
        assert code == 1 and "could not write the plan to" in out and "Permission denied" in out


def test_a_dependency_found_only_at_import_time_is_vendored_and_checked_for_the_functions_architecture(
        state, tmp_path, monkeypatch):
    """The handler imports only Powertools' parser, which imports pydantic (an optional extra,
    not a requirement): the import check finds it, and pydantic-core, compiled for this
    machine's x86_64, is refused for a function that runs on arm64."""
    parser_handler = ("from aws_lambda_powertools.utilities.parser import BaseModel\n\n\n"
                      "class Order(BaseModel):\n    id: str\n\n\ndef handler(event, context):\n    return Order(**event).id\n")
    _fake_lab(tmp_path, monkeypatch, [("      FunctionName: edalab-upload-processor\n",
                                       "      FunctionName: edalab-upload-processor\n      Architectures: [arm64]\n")],
              handler=parser_handler)
    code, out = _plan("99", solution=True)
    assert code == 1, out
    assert "pydantic-core" in out and "not for python3.13 on arm64 Linux" in out


def test_a_parameter_the_template_sets_for_aws_goes_into_the_deploy_command(state, tmp_path, monkeypatch):
    _fake_lab(tmp_path, monkeypatch, [("      ForwarderCode: upload_forwarder\n",
                                       "      ForwarderCode: upload_forwarder\n    AwsParameters:\n      FunctionTimeout: 5\n")])
    code, out = _plan("99")
    assert code == 0, out
    assert "--parameter-overrides FunctionTimeout=5 VisibilityTimeout=12" in out
    assert "FunctionTimeout=5 in the deploy command is the template's value for AWS; locally it is 2." in out
    assert "EdaLab" not in (state / "aws-plan" / "99" / "template.yaml").read_text()


def test_the_preview_is_byte_for_byte_what_aws_cloudformation_package_writes(engine, state, tmp_path, unique):
    """The real AWS CLI's `package` (in .venv), run on the written template.yaml against the local
    engine's S3 in a sealed environment: dummy keys, no config files, every proxy a dead port."""
    assert is_local_endpoint(engine.endpoint)
    code, out = _plan("02")
    assert code == 0, out
    folder, bucket = state / "aws-plan" / "02", f"aws-plan-{unique}"
    dead = "http://127.0.0.1:9"
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path), "AWS_ENDPOINT_URL": engine.endpoint,
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": settings.REGION,
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
           "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "NO_PROXY": "localhost,127.0.0.1"}
    s3 = engine.client("s3")
    s3.create_bucket(Bucket=bucket)
    try:
        done = subprocess.run([str(Path(sys.executable).parent / "aws"), "cloudformation", "package", "--template-file",
                               "template.yaml", "--s3-bucket", bucket, "--output-template-file", "packaged.yaml"],
                              cwd=folder, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        packaged = (folder / "packaged.yaml").read_text().replace(bucket, "your-artifact-bucket")
        assert packaged == (folder / "packaged-preview.yaml").read_text()
        uploaded = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))
        zips = sorted(hashlib.md5(z.read_bytes()).hexdigest() for z in (folder / "handlers").glob("*.zip"))
        assert uploaded == zips
    finally:
        for found in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=found["Key"])
        s3.delete_bucket(Bucket=bucket)

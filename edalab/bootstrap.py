"""Deploys CloudFormation stacks to the engine, idempotently.

Why this exists: `make up` must bring any engine to the same known set of resources, and a
second `make up` must change nothing. Each lab folder's `template.yaml` is one stack, named
`edalab-<folder>` (see `edalab.labs`, which knows the labs and calls this). Handler code is
zipped reproducibly (fixed timestamps, sorted entries) and uploaded under a content hash, so
unchanged code gives an unchanged template and CloudFormation reports "no updates". Stacks
deploy in parallel.

Which handler folder feeds which template parameter is declared in the template itself:

    Metadata:
      EdaLab:
        Handlers:
          RecorderCode: smoke_recorder     # parameter -> handlers/smoke_recorder
"""

from __future__ import annotations

import hashlib
import io
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml
from botocore.exceptions import ClientError

from edalab import aws, settings

ARTIFACT_BUCKET = "edalab-artifacts"
STACK_PREFIX = "edalab-"
_FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
_FAILED_SUFFIXES = ("_FAILED", "ROLLBACK_COMPLETE")


class CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML, keeping short-form tags (!Ref, !GetAtt, ...) as plain values."""


def _tag(loader: yaml.Loader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node)}
    return {suffix: loader.construct_mapping(node)}


CloudFormationLoader.add_multi_constructor("!", _tag)


@dataclass
class Stack:
    name: str
    template: Path

    @property
    def body(self) -> str:
        return self.template.read_text()

    def handler_parameters(self) -> dict[str, str]:
        """Template parameter -> handler folder; DeployError naming the stack when the template
        does not read as CloudFormation YAML (a learner's draft: in some labs it is the exercise)."""
        try:
            doc = yaml.load(self.body, Loader=CloudFormationLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise DeployError(f"{self.name}: {self._shown()} cannot be read as YAML ({error}); fix it, "
                              "then deploy again") from None
        if not isinstance(doc, dict):
            raise DeployError(f"{self.name}: {self._shown()} is empty or not a CloudFormation template "
                              "(it needs at least a `Resources:` section); fix it, then deploy again")
        return dict(((doc.get("Metadata") or {}).get("EdaLab") or {}).get("Handlers") or {})

    def _shown(self) -> str:
        try:
            return str(self.template.relative_to(settings.REPO_ROOT))
        except ValueError:
            return str(self.template)


class DeployError(RuntimeError):
    pass


def _refused_by_cloudformation(stack: Stack, error: ClientError) -> DeployError:
    """A template CloudFormation refuses (ValidationError) as a DeployError naming the lab's stack."""
    message = error.response.get("Error", {}).get("Message") or str(error)
    return DeployError(f"{stack.name}: CloudFormation refused {stack._shown()}: {message}")


def _is_validation_error(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ValidationError"


def zip_folder(folder: Path) -> bytes:
    """A zip of `folder` whose bytes depend only on file names and contents."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                info = zipfile.ZipInfo(str(path.relative_to(folder)), _FIXED_ZIP_TIME)
                info.external_attr = 0o644 << 16
                archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def upload_handler(s3, folder: Path) -> str:
    """Uploads the zipped handler once per content; returns its key."""
    if not folder.is_dir():
        raise DeployError(f"handler folder {folder} does not exist")
    data = zip_folder(folder)
    key = f"handlers/{folder.name}-{hashlib.sha256(data).hexdigest()[:16]}.zip"
    try:
        s3.head_object(Bucket=ARTIFACT_BUCKET, Key=key)
    except ClientError:
        s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=data)
    return key


def ensure_artifact_bucket(s3) -> None:
    try:
        s3.head_bucket(Bucket=ARTIFACT_BUCKET)
    except ClientError:
        s3.create_bucket(Bucket=ARTIFACT_BUCKET)


def _parameters(stack: Stack, s3, handler_sources: dict[str, Path], extra: dict[str, str]) -> list[dict]:
    params = [{"ParameterKey": "CodeBucket", "ParameterValue": ARTIFACT_BUCKET}]
    for parameter, folder in stack.handler_parameters().items():
        source = handler_sources.get(folder, settings.REPO_ROOT / "handlers" / folder)
        params.append({"ParameterKey": parameter, "ParameterValue": upload_handler(s3, source)})
    params += [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in extra.items()]
    return params


def _wait_stack(cfn, name: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        if status in _DONE:
            return status
        if status.endswith(_FAILED_SUFFIXES):
            events = cfn.describe_stack_events(StackName=name)["StackEvents"]
            reasons = [
                f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
                for e in events
                if e["ResourceStatus"].endswith("FAILED")
            ]
            raise DeployError(f"stack {name} ended in {status}: " + "; ".join(reasons[:5]))
        time.sleep(0.2)
    raise DeployError(f"stack {name} did not finish within {timeout:.0f} s")


def deploy_stack(
    stack: Stack,
    endpoint: str | None = None,
    timeout: float = 180.0,
    handler_sources: dict[str, Path] | None = None,
    parameters: dict[str, str] | None = None,
) -> str:
    """Creates or updates one stack. Returns 'created', 'updated' or 'unchanged'.

    `handler_sources` maps a handler folder name to another folder to zip instead (the
    solution's version); `parameters` sets template parameters beyond the code locations."""
    cfn = aws.client("cloudformation", endpoint)
    s3 = aws.client("s3", endpoint)
    ensure_artifact_bucket(s3)
    params = _parameters(stack, s3, handler_sources or {}, parameters or {})
    request = {
        "StackName": stack.name,
        "TemplateBody": stack.body,
        "Parameters": params,
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    }
    try:
        current = cfn.describe_stacks(StackName=stack.name)["Stacks"][0]["StackStatus"]
    except ClientError:
        current = None
    if current is not None and current.endswith(_FAILED_SUFFIXES):
        # A stack that failed to create cannot be updated; start it over.
        cfn.delete_stack(StackName=stack.name)
        _wait_deleted(cfn, stack.name, timeout)
        current = None
    if current is None:
        try:
            cfn.create_stack(**request)
        except ClientError as error:
            if _is_validation_error(error):
                raise _refused_by_cloudformation(stack, error) from None
            raise
        _wait_stack(cfn, stack.name, timeout)
        return "created"
    try:
        cfn.update_stack(**request)
    except ClientError as error:
        if "No updates are to be performed" in str(error):
            return "unchanged"
        if _is_validation_error(error):
            raise _refused_by_cloudformation(stack, error) from None
        raise
    _wait_stack(cfn, stack.name, timeout)
    return "updated"


def _wait_deleted(cfn, name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        except ClientError:
            return
        if status == "DELETE_COMPLETE":
            return
        time.sleep(0.2)
    raise DeployError(f"stack {name} was not deleted within {timeout:.0f} s")


def deploy_all(
    endpoint: str | None,
    stacks: list[Stack],
    progress: Callable[[str, str], None] = lambda name, outcome: None,
    parameters: dict[str, dict[str, str]] | None = None,
) -> dict[str, str]:
    """Deploys every lab stack in parallel; returns each stack's outcome.
    `parameters` maps a stack name to template parameters for it."""
    outcomes: dict[str, str] = {}

    def one(stack: Stack) -> None:
        outcome = deploy_stack(stack, endpoint, parameters=(parameters or {}).get(stack.name))
        outcomes[stack.name] = outcome
        progress(stack.name, outcome)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(one, stack) for stack in stacks]:
            future.result()
    return outcomes


def stack_outputs(name: str, endpoint: str | None = None) -> dict[str, str]:
    stack = aws.client("cloudformation", endpoint).describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

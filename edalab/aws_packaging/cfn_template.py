"""A lab template as AWS receives it: code parameters replaced by zips, intrinsics in long form.

Why this exists: a lab's template takes its code from parameters that bootstrap fills
(`CodeBucket` and one key per handler, named in `Metadata.EdaLab.Handlers`). On AWS the
learner runs `aws cloudformation package`, which wants each function's `Code` to be a local
path and rewrites it to `{S3Bucket, S3Key}` after uploading. `for_package` makes that input;
`packaged` makes the output `package` will write (its S3 key is the zip's MD5), which is what
CloudFormation receives and what cfn-lint checks. The short-form tags (`!Ref`, `!GetAtt`,
`!Sub`) are read into their long forms, as `package` writes them.

A parameter whose local default does not suit AWS (an alarm period of 10 s, where SQS reports
once a minute) can say so in the template, and the deploy command then carries that value:

    Metadata:
      EdaLab:
        AwsParameters:
          AlarmPeriod: 60
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ARTIFACT_BUCKET_PLACEHOLDER = "your-artifact-bucket"  # `package --s3-bucket` puts the learner's bucket here
CODE_BUCKET_PARAMETER = "CodeBucket"
# Properties that give an IAM resource a fixed name: deploying one needs CAPABILITY_NAMED_IAM.
_IAM_NAME_PROPERTIES = ("RoleName", "UserName", "GroupName", "ManagedPolicyName", "InstanceProfileName")


class TemplateProblem(ValueError):
    """The template cannot go to AWS as it is; the message says why and what to change."""


class _LongFormLoader(yaml.SafeLoader):
    """CloudFormation YAML with its short-form tags read as the long forms they stand for."""


def _long_form(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_LongFormLoader.add_multi_constructor("!", _long_form)


class _Dumper(yaml.SafeDumper):
    """Block style, keys in the template's order, long strings kept on one line, text of
    several lines (descriptions, dashboard bodies) as literal blocks."""


    def ignore_aliases(self, data) -> bool:  # a value used twice is written twice, never as &id001
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value.strip() else None)


_Dumper.add_representer(str, _text)


class _PackageDumper(yaml.SafeDumper):
    """How `aws cloudformation package` writes its output: PyYAML's defaults, keys in order, no aliases."""

    def ignore_aliases(self, data) -> bool:
        return True


def load(path: Path) -> dict:
    try:
        document = yaml.load(path.read_text(), Loader=_LongFormLoader)
    except yaml.YAMLError as error:
        raise TemplateProblem(f"{path} is not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateProblem(f"{path} has no Resources section: it is not a CloudFormation template")
    odd = [name for name, resource in document["Resources"].items()
           if not isinstance(resource, dict) or not isinstance(resource.get("Properties", {}), dict)]
    if odd:
        raise TemplateProblem(f"{path}: resource(s) {', '.join(map(str, odd))} are not a Type with Properties")
    return document


def dump(document: dict) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000,
                     allow_unicode=True)


def dump_as_package(document: dict) -> str:
    """The same text `aws cloudformation package` writes for this document."""
    return yaml.dump(document, Dumper=_PackageDumper, sort_keys=False, default_flow_style=False)


@dataclass
class Function:
    logical_id: str
    handler_folder: str  # the folder under handlers/ its code comes from
    properties: dict

    @property
    def name(self) -> str:
        """Its FunctionName when the template fixes one (its log group is named after it)."""
        value = self.properties.get("FunctionName")
        return value if isinstance(value, str) else ""

    @property
    def runtime(self) -> str:
        return str(self.properties.get("Runtime", ""))

    @property
    def architecture(self) -> str:
        return (self.properties.get("Architectures") or ["x86_64"])[0]

    @property
    def handler(self) -> str:
        return str(self.properties.get("Handler", "app.handler"))

    @property
    def environment(self) -> dict[str, Any]:
        return dict(((self.properties.get("Environment") or {}).get("Variables")) or {})


@dataclass
class Plan:
    """The template for `aws cloudformation package`, and what it takes to deploy it."""
    source: dict  # Code points at handlers/<folder>.zip
    functions: list[Function]
    parameters: dict[str, dict] = field(default_factory=dict)  # what the learner may set on deploy
    aws_values: dict[str, str] = field(default_factory=dict)  # parameter -> the value the template advises on AWS

    def packaged(self, zip_md5: dict[str, str], bucket: str = ARTIFACT_BUCKET_PLACEHOLDER) -> dict:
        """The template as `package --s3-bucket <bucket>` writes it: each Code an S3 location
        whose key is the MD5 of the zip it uploaded."""
        document = copy.deepcopy(self.source)
        for function in self.functions:
            document["Resources"][function.logical_id]["Properties"]["Code"] = {
                "S3Bucket": bucket, "S3Key": zip_md5[function.handler_folder]}
        return document

    def capabilities(self) -> list[str]:
        iam = [r for r in self.source["Resources"].values() if str(r.get("Type", "")).startswith("AWS::IAM::")]
        found = []
        if iam:
            named = any(name in (r.get("Properties") or {}) for r in iam for name in _IAM_NAME_PROPERTIES)
            found.append("CAPABILITY_NAMED_IAM" if named else "CAPABILITY_IAM")
        if self.source.get("Transform"):
            found.append("CAPABILITY_AUTO_EXPAND")
        return found

    def resources(self, kind: str) -> dict[str, dict]:
        return {name: (r.get("Properties") or {}) for name, r in self.source["Resources"].items()
                if r.get("Type") == kind}


def for_package(document: dict) -> Plan:
    """Points every function whose code comes from a handler parameter at `handlers/<folder>.zip`
    and drops the parameters bootstrap filled (package and deploy fill nothing of ours)."""
    document = copy.deepcopy(document)
    handlers = dict((((document.get("Metadata") or {}).get("EdaLab") or {}).get("Handlers")) or {})
    functions = []
    for logical_id, resource in document["Resources"].items():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        properties = resource.get("Properties") or {}
        key = (properties.get("Code") or {}).get("S3Key")
        parameter = key.get("Ref") if isinstance(key, dict) else None
        if parameter not in handlers:
            raise TemplateProblem(
                f"function {logical_id}'s code does not come from a handler parameter listed under "
                "Metadata.EdaLab.Handlers, so there is no handler folder to package for it")
        properties["Code"] = f"handlers/{handlers[parameter]}.zip"
        functions.append(Function(logical_id, handlers[parameter], properties))
    metadata = document.get("Metadata") or {}
    aws_values = dict((metadata.pop("EdaLab", None) or {}).get("AwsParameters") or {})  # bootstrap's own notes
    if not metadata:
        document.pop("Metadata", None)
    parameters = document.get("Parameters") or {}
    for name in [*handlers, CODE_BUCKET_PARAMETER]:
        if name in parameters:
            if _references(document, name) - {"Parameters"}:
                raise TemplateProblem(
                    f"parameter {name} is used outside a function's Code; `aws cloudformation package` fills "
                    "only Code, so the template would need a value for it on AWS")
            del parameters[name]
    if not parameters:
        document.pop("Parameters", None)
    return Plan(document, functions, dict(parameters),
                {name: str(value) for name, value in aws_values.items() if name in parameters})


def _references(node: Any, name: str, where: str = "") -> set[str]:
    """The top-level sections in which `{"Ref": name}` or `${name}` appears."""
    found: set[str] = set()
    if isinstance(node, dict):
        if node.get("Ref") == name:
            found.add(where)
        for key, value in node.items():
            found |= _references(value, name, where or key)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value, name, where)
    elif isinstance(node, str) and "${" + name + "}" in node:
        found.add(where)
    return found


def strings(node: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string value in the template with where it is (`Resources.Api.Properties.Name`)."""
    if isinstance(node, dict):
        return [found for key, value in node.items() for found in strings(value, f"{path}.{key}" if path else str(key))]
    if isinstance(node, list):
        return [found for index, value in enumerate(node) for found in strings(value, f"{path}[{index}]")]
    return [(path, node)] if isinstance(node, str) else []

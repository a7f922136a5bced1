"""The AWS CLI commands a learner runs, with their own credentials, to deploy a packaged lab.

Why this exists: EDA Lab never talks to AWS (edalab.safety), so the last step is the learner's:
make a bucket for the artifacts, `aws cloudformation package` (uploads the zips, rewrites Code),
`aws cloudformation deploy` with the parameters and capabilities the template needs, read the
outputs (the API's URL), and remove it all again. The commands are written for a POSIX shell
and derived from the template, so they fit any lab, not only the capstone.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from edalab.aws_packaging import queue_policies
from edalab.aws_packaging.cfn_template import Plan


def script(plan: Plan, stack: str, folder: Path) -> list[str]:
    """The commands, with a comment before each step; paste them into a shell."""
    q = shlex.quote
    lines = [
        "# 0. Your own AWS account: edit the profile and region to yours (EDA Lab never reads them).",
        'export AWS_PROFILE=your-profile AWS_REGION=eu-west-1 && export AWS_DEFAULT_REGION="$AWS_REGION"',
        "aws sts get-caller-identity    # the account everything below is created in",
        "",
        "# 1. A bucket for the zipped handlers (bucket names are global: this one carries your account id).",
        'BUCKET="edalab-artifacts-$(aws sts get-caller-identity --query Account --output text)-$AWS_REGION"',
        'aws s3 mb "s3://$BUCKET"',
        "",
        "# 2. Package: uploads each zip and writes packaged.yaml with their S3 locations.",
        f"cd {q(str(folder))}",
        'aws cloudformation package --template-file template.yaml --s3-bucket "$BUCKET" '
        "--output-template-file packaged.yaml",
        "",
        "# 3. Deploy (creates or updates the stack; waits until it is done).",
    ]
    deploy = f"aws cloudformation deploy --template-file packaged.yaml --stack-name {q(stack)}"
    if plan.capabilities():
        deploy += " \\\n    --capabilities " + " ".join(plan.capabilities())
    yours = _yours(plan)
    overrides = [f"{name}={q(plan.aws_values.get(name) or yours.get(name) or _shown(spec))}"
                 for name, spec in plan.parameters.items()]
    if overrides:
        deploy += " \\\n    --parameter-overrides " + " ".join(overrides)
    lines += [deploy, ""]
    lines += ["# 4. The stack's outputs" + (" (the API's URL among them)." if _api_urls(plan) else "."),
              f"aws cloudformation describe-stacks --stack-name {q(stack)} --query 'Stacks[0].Outputs' --output table"]
    for output in _api_urls(plan):
        lines.append(f"aws cloudformation describe-stacks --stack-name {q(stack)} "
                     f"--query \"Stacks[0].Outputs[?OutputKey=='{output}'].OutputValue\" --output text")
    for api in plan.resources("AWS::ApiGateway::RestApi").values():
        if isinstance(api.get("Name"), str):
            lines.append(f"aws apigateway get-rest-apis --query \"items[?name=='{api['Name']}'].id\" --output text"
                         "    # the URL is https://<id>.execute-api.$AWS_REGION.amazonaws.com/<stage>")
    lines += ["", "# 5. Remove it all: empty the stack's buckets, delete the stack, then its log groups and the artifacts."]
    for bucket in _fixed_names(plan, "AWS::S3::Bucket", "BucketName"):
        lines.append(f"aws s3 rm s3://{bucket} --recursive    # CloudFormation cannot delete a bucket that holds objects")
    lines += [f"aws cloudformation delete-stack --stack-name {q(stack)}",
              f"aws cloudformation wait stack-delete-complete --stack-name {q(stack)}"]
    in_stack = set(_fixed_names(plan, "AWS::Logs::LogGroup", "LogGroupName"))
    for function in plan.functions:  # Lambda makes its group on the first run, unless the stack owns one
        if function.name and f"/aws/lambda/{function.name}" not in in_stack:
            lines.append(f"aws logs delete-log-group --log-group-name /aws/lambda/{function.name}")
    lines += ['aws s3 rb "s3://$BUCKET" --force']
    return lines


def _shown(spec: dict) -> str:
    """A parameter's value on the command line: its default, else a placeholder to fill in."""
    default = spec.get("Default")
    if default is None:
        return f"<{spec.get('Type', 'value')}>"
    return ",".join(map(str, default)) if isinstance(default, list) else str(default)


def _yours(plan: Plan) -> dict[str, str]:
    """Parameters that give a subscription an address only you can fill in: placeholders."""
    wanted = {"email": "<your-email-address>", "sms": "<your-phone-number>"}
    found = {}
    for subscription in _subscriptions(plan):
        endpoint, protocol = subscription.get("Endpoint"), subscription.get("Protocol")
        if isinstance(endpoint, dict) and endpoint.get("Ref") in plan.parameters and protocol in wanted:
            found[endpoint["Ref"]] = wanted[protocol]
    return found


def _api_urls(plan: Plan) -> list[str]:
    return [name for name in (plan.source.get("Outputs") or {}) if name.lower().endswith("url")
            and name.lower().startswith("api")]


def _fixed_names(plan: Plan, kind: str, prop: str) -> list[str]:
    return [p[prop] for p in plan.resources(kind).values() if isinstance(p.get(prop), str)]


def notes(plan: Plan) -> list[str]:
    """What differs from the local run and the learner must know before deploying."""
    found = []
    for bucket in _fixed_names(plan, "AWS::S3::Bucket", "BucketName"):
        found.append(f"Bucket names are global across every AWS account: '{bucket}' may already be taken, and "
                     "then the deploy fails on it (rename it in template.yaml).")
    for subscription in _subscriptions(plan):
        protocol, endpoint = subscription.get("Protocol"), subscription.get("Endpoint")
        parameter = endpoint.get("Ref") if isinstance(endpoint, dict) else None
        if parameter in plan.parameters:  # the learner sets it on deploy
            endpoint = plan.parameters[parameter].get("Default")
            shown = f"{endpoint} (parameter {parameter}: put yours in --parameter-overrides)"
        else:
            shown = endpoint if isinstance(endpoint, str) else "the endpoint the template computes"
        if protocol == "email":
            found.append(f"The email subscription to {shown} stays 'pending confirmation' until someone clicks "
                         "the link AWS emails there" + (": an address AWS cannot deliver to never confirms; use your "
                                                         "own" + ("." if parameter else " (its Endpoint in template.yaml).")
                                                         if _local_address(endpoint) else "."))
        elif protocol == "sms":
            found.append(f"The SMS subscription to {shown}: a new account's SNS is in the SMS sandbox and texts only "
                         "numbers you verified (aws sns create-sms-sandbox-phone-number, then "
                         "verify-sms-sandbox-phone-number); some countries, the US among them, also need a "
                         "registered origination number. Locally the engine only records the text.")
    for name, value in plan.aws_values.items():
        found.append(f"{name}={value} in the deploy command is the template's value for AWS; locally it is "
                     f"{_shown(plan.parameters[name])}.")
    found += queue_policies.missing(plan)
    roles = _fixed_names(plan, "AWS::IAM::Role", "RoleName")
    if roles:
        found.append(f"IAM role names ({', '.join(roles)}) are per account, not per region: one copy of this stack "
                     "per account.")
    for name, tags in ((n, p.get("Tags") or []) for n, p in plan.resources("AWS::ApiGateway::RestApi").items()):
        if any(isinstance(t, dict) and t.get("Key") == "_custom_id_" for t in tags):
            found.append(f"{name}'s tag _custom_id_ only fixes the API's id in LocalStack; on AWS it is an ordinary "
                         "tag and the id is random.")
    return found


def _subscriptions(plan: Plan) -> list[dict]:
    """Every SNS subscription: its own resource, or listed on its topic."""
    inline = [s for topic in plan.resources("AWS::SNS::Topic").values() for s in topic.get("Subscription") or []
              if isinstance(s, dict)]
    return list(plan.resources("AWS::SNS::Subscription").values()) + inline


def _local_address(endpoint: object) -> bool:
    return isinstance(endpoint, str) and endpoint.lower().endswith((".local", ".localhost", ".test", ".example"))

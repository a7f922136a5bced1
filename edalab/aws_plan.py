"""`make aws-plan LAB=NN`: a lab packaged for a real AWS account, and the commands to deploy it.

Why this exists: a learner who finished a lab may want to run it on AWS with their own
credentials; EDA Lab must never do that for them (edalab.safety keeps every client on this
machine). So this command works offline only. It writes, under the state folder
(`<state>/aws-plan/NN/`):

    handlers/<name>.zip    each handler with the packages it imports vendored in (not boto3: the
                           runtime carries it), imported once in a fresh interpreter to prove it
    template.yaml          the lab's template with each function's Code pointing at its zip, the
                           input `aws cloudformation package` expects
    packaged-preview.yaml  what `package` will write (Code in S3, under your bucket's name),
                           which is what CloudFormation receives; cfn-lint checks it, no rule off
    commands.sh            the AWS CLI commands it prints: bucket, package, deploy, outputs, delete

It refuses, saying why, when the handler code or the template names a LocalStack-only
endpoint, when an import has no installed package, or when cfn-lint finds an error. It opens
no connection and creates no client: nothing is sent anywhere, and it cannot say whether AWS
would accept the stack, only that everything checkable offline passes.
"""

from __future__ import annotations

import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edalab import labs, settings
from edalab.aws_packaging import cfn_template, commands, dependencies, endpoints, handler_zip, lint

LINT_REGIONS = ["us-east-1"]
OFFLINE = ("Checked offline only: EDA Lab sent nothing to AWS and never will; whether AWS accepts the stack "
           "is known only when you deploy it yourself.")
_MAX_ROUNDS = 10  # imports found missing at run time, added one by one


class PlanRefused(RuntimeError):
    """The lab cannot go to AWS as it is; the message lists every reason."""


@dataclass
class PackagedHandler:
    folder: str
    zip_path: Path
    size: int
    unzipped: int
    vendored: list[dependencies.Vendored]
    runtime_imports: list[str]  # what the runtime carries that it imports (boto3, botocore)
    notes: list[str] = field(default_factory=list)


def plan_dir(lab: labs.Lab) -> Path:
    return settings.state_dir() / "aws-plan" / lab.number


def main(args, say: Callable[[str], None] = print) -> int:
    try:
        lab = labs.find(getattr(args, "lab", None))
    except labs.UnknownLab as error:
        say(str(error))
        return 2
    solution = bool(getattr(args, "solution", False))
    template = _template(lab, solution)
    if not template.is_file():
        say(f"Lab {lab.number} ({lab.title}) has no template.yaml: it deploys nothing, so there is nothing "
            "to package for AWS.")
        return 2
    try:
        return _plan(lab, template, solution, say)
    except (PlanRefused, cfn_template.TemplateProblem, dependencies.MissingDependency, SyntaxError,
            UnicodeDecodeError) as error:
        if isinstance(error, SyntaxError):
            error = f"{_shown(Path(error.filename or '?'))} line {error.lineno} does not parse ({error.msg}): fix it first"
        elif isinstance(error, UnicodeDecodeError):
            error = f"a handler file is not UTF-8 text ({error.reason}): save it as UTF-8"
        shutil.rmtree(plan_dir(lab), ignore_errors=True)  # no half-made plan left behind
        say(f"Not packaged for AWS: {error}")
        say(OFFLINE)
        return 1
    except OSError as error:  # the disk is full, a folder is not writable, a file is unreadable
        shutil.rmtree(plan_dir(lab), ignore_errors=True)
        say(f"Not packaged for AWS: {_file_problem(error, plan_dir(lab))}")
        say(OFFLINE)
        return 1


def _file_problem(error: OSError, out: Path) -> str:
    """What went wrong with which file, and what to do about it."""
    reason = error.strerror or str(error)
    path = Path(error.filename) if error.filename else None
    if path is None or path.is_relative_to(settings.state_dir()):
        return (f"could not write the plan to {out}{f' ({path})' if path else ''}: {reason}. Make room on the disk "
                f"or make that folder writable (or set EDALAB_STATE_DIR to a folder you can write), then run this again.")
    return f"could not read {_shown(path)}: {reason}. Check that the file exists and is readable, then run this again."


def _shown(path: Path) -> Path:
    return path.relative_to(settings.REPO_ROOT) if path.is_relative_to(settings.REPO_ROOT) else path


def _template(lab: labs.Lab, solution: bool) -> Path:
    """The learner's template, or with SOLUTION=1 the solution's copy when the lab has one."""
    solved = lab.solution_dir / "labs" / lab.folder.name / "template.yaml"
    return solved if solution and solved.is_file() else lab.folder / "template.yaml"


def _handler_sources(lab: labs.Lab, plan: cfn_template.Plan, solution: bool) -> dict[str, Path]:
    solved = lab.solution_handler_dirs() if solution else {}
    return {f.handler_folder: solved.get(f.handler_folder, settings.REPO_ROOT / "handlers" / f.handler_folder)
            for f in plan.functions}


def _plan(lab: labs.Lab, template: Path, solution: bool, say: Callable[[str], None]) -> int:
    plan = cfn_template.for_package(cfn_template.load(template))
    sources = _handler_sources(lab, plan, solution)
    missing = [f"handlers/{name}" for name, folder in sources.items() if not folder.is_dir()]
    if missing:
        raise PlanRefused(f"the template's code comes from {', '.join(missing)}, which does not exist")
    local_only = endpoints.in_template(plan.source) + [
        found for folder in sources.values() for found in endpoints.in_handler(folder, settings.REPO_ROOT)]
    if local_only:
        raise PlanRefused(
            "LocalStack-only endpoints would go to AWS:\n" + "\n".join(f"  {found}" for found in local_only)
            + "\n  On AWS every client finds its service from the region, and locally the engine gives each function "
              "its endpoint through the environment, so code and template need none: remove these.")

    out = plan_dir(lab)
    if out.exists():
        shutil.rmtree(out)  # this lab's previous plan only
    (out / "handlers").mkdir(parents=True)
    packaged = [_package_handler(name, folder, plan, out) for name, folder in sources.items()]
    (out / "template.yaml").write_text(cfn_template.dump(plan.source))
    preview = out / "packaged-preview.yaml"
    preview.write_text(cfn_template.dump_as_package(plan.packaged({p.folder: handler_zip.md5(p.zip_path.read_bytes())
                                                        for p in packaged})))
    findings = lint.lint(preview, LINT_REGIONS)

    _report(lab, template, solution, packaged, findings, plan, out, say)
    if any(f.is_error for f in findings):
        say("")
        say(f"Not ready for AWS: fix the cfn-lint error(s) above in {_shown(template)} "
            "and run this again (the deploy would fail on them).")
        say(OFFLINE)
        return 1
    script = commands.script(plan, lab.stack.name, out)
    shell = out / "commands.sh"
    shell.write_text("#!/bin/sh\n# Generated by `make aws-plan LAB=" + lab.number + "`; run with YOUR credentials.\n"
                     + "\n".join(script) + "\n")
    shell.chmod(shell.stat().st_mode | stat.S_IXUSR)
    say("")
    say("Deploy it with your own credentials (also in " + str(shell) + "):")
    say("")
    for line in script:
        say("  " + line if line else "")
    say("")
    say(OFFLINE)
    return 0


def _package_handler(name: str, folder: Path, plan: cfn_template.Plan, out: Path) -> PackagedHandler:
    """Zips one handler with what it imports, adding what a run-time import shows is missing."""
    users = [f for f in plan.functions if f.handler_folder == name]
    function = users[0]
    problems = sorted({f"{a.logical_id} runs {a.runtime}/{a.architecture} but {b.logical_id} runs "
                       f"{b.runtime}/{b.architecture}: one zip cannot fit both" for a in users for b in users
                       if (a.runtime, a.architecture) < (b.runtime, b.architecture)})
    if problems:
        raise PlanRefused(f"handlers/{name}: " + "; ".join(problems))
    imports = dependencies.third_party_imports(folder)
    runtime = dependencies.runtime_modules()
    roots = []
    for module, source in imports.items():
        if module in runtime:
            continue
        dist = dependencies.distribution_of(module)
        if dist is None:
            raise dependencies.MissingDependency(
                f"handlers/{name}/{source} imports {module}, and no package installed in .venv provides it: "
                f"install it there (`.venv/bin/pip install <its package>`) or remove the import; nothing is downloaded here")
        roots.append(dist)
    target = dependencies.target_environment(function.runtime, function.architecture)
    environment = _placeholder_environment(function, plan)
    for _ in range(_MAX_ROUNDS):
        vendored = dependencies.closure(roots, target)
        wrong_target = dependencies.check_target(vendored, function.runtime, function.architecture)
        if wrong_target:
            raise PlanRefused(f"handlers/{name}: " + "; ".join(wrong_target))
        data = handler_zip.build(folder, vendored)
        result = handler_zip.import_check(data, function.handler, environment, settings.REGION)
        if not result.missing:
            break
        dist = dependencies.distribution_of(result.missing)
        if dist is None or dist in roots or result.missing in runtime:
            raise dependencies.MissingDependency(
                f"handlers/{name}: importing {function.handler} on the runtime needs the module {result.missing}, "
                f"and no package installed in .venv provides it ({result.error}): install it in .venv; "
                "nothing is downloaded here")
        roots.append(dist)  # e.g. an optional dependency a Powertools module imports
    else:
        raise PlanRefused(f"handlers/{name}: still missing modules after {_MAX_ROUNDS} rounds ({result.error})")
    notes = []
    if result.error:
        notes.append(f"importing it with placeholder settings raised {result.error} (not a packaging problem: "
                     "on AWS its settings are the stack's)")
    elif not result.handler_found:
        notes.append(f"{function.handler} is not a function in the zip: check the template's Handler")
    unzipped = handler_zip.unzipped_size(data)
    if len(data) > handler_zip.LAMBDA_ZIPPED_LIMIT or unzipped > handler_zip.LAMBDA_UNZIPPED_LIMIT:
        raise PlanRefused(f"handlers/{name}'s zip is {len(data) / 2**20:.1f} MB ({unzipped / 2**20:.1f} MB unpacked); "
                          "Lambda takes at most 50 MB zipped and 250 MB unpacked")
    zip_path = out / "handlers" / f"{name}.zip"
    zip_path.write_bytes(data)
    return PackagedHandler(name, zip_path, len(data), unzipped, vendored,
                           sorted(m for m in imports if m in runtime), notes)


def _placeholder_environment(function: cfn_template.Function, plan: cfn_template.Plan) -> dict[str, str]:
    """The function's environment for the import check: literal values as they are, a
    parameter's default for a `Ref` to one, a placeholder for what only the stack knows."""
    found = {}
    for name, value in function.environment.items():
        if isinstance(value, (str, int, float)):
            found[name] = str(value)
        elif isinstance(value, dict) and plan.parameters.get(value.get("Ref"), {}).get("Default") is not None:
            found[name] = str(plan.parameters[value["Ref"]]["Default"])
        else:
            found[name] = f"aws-plan-placeholder-{name.lower()}"
    return found


def _report(lab, template, solution, packaged, findings, plan, out, say) -> None:
    say(f"Lab {lab.number} ({lab.title}) packaged for AWS from "
        f"{_shown(template)}{' (the solution)' if solution else ''} into {out}")
    say(OFFLINE)
    say("")
    for handler in packaged:
        vendored = ", ".join(f"{d.name} {d.version}" for d in handler.vendored) or "nothing (standard library only)"
        runtime = f"; from the runtime: {', '.join(handler.runtime_imports)}" if handler.runtime_imports else ""
        say(f"  handlers/{handler.folder}.zip  {handler.size / 1024:.0f} KB ({handler.unzipped / 1024:.0f} KB unpacked); "
            f"vendored: {vendored}{runtime}" + ("" if handler.notes else "; imports cleanly in a fresh interpreter"))
        for note in handler.notes:
            say(f"    note: {note}")
    say("  template.yaml (Code points at the zips: the input of `aws cloudformation package`)")
    say("  packaged-preview.yaml (what `package` writes, with your bucket's name in place of "
        f"'{cfn_template.ARTIFACT_BUCKET_PLACEHOLDER}')")
    say("")
    say(f"cfn-lint {lint.version()} on packaged-preview.yaml, every error and warning rule, none ignored, "
        f"region {', '.join(LINT_REGIONS)}: " + (f"{len(findings)} finding(s)" if findings else "no findings"))
    for finding in findings:
        say(f"  {finding}")
    notes = commands.notes(plan)
    beyond_stack = [f for f in lab.exercise_files if not f.startswith("handlers/") and not f.endswith("/template.yaml")]
    if (lab.folder / "post_deploy.py").exists() and beyond_stack:
        notes.append(f"Locally, labs/{lab.folder.name}/post_deploy.py also runs after the stack deploys, with your "
                     f"{', '.join(beyond_stack)}; CloudFormation knows nothing of it, so the stack does not include "
                     "what it does: read it to see what you would do by hand on AWS.")
    if notes:
        say("")
        say("Before you deploy:")
        for note in notes:
            say(f"  - {note}")

"""cfn-lint on the template AWS will receive, with no rule silenced.

Why this exists: the labs' test runs cfn-lint too, but a template going to a real account must
pass without any LocalStack-only allowance. So no configuration file is read (an empty one is
given, so a `.cfnlintrc` in the learner's folder or home cannot ignore rules), and every error
and warning rule is mandatory, which overrides a template's own `Metadata: cfn-lint` ignores;
those are also reported, since on AWS nothing should need silencing.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from edalab.aws_packaging import cfn_template

RULES = ("E", "W")  # cfn-lint's default errors and warnings, all of them


@dataclass
class LintFinding:
    rule: str  # e.g. E3012; "silenced" for rules the template asks cfn-lint to skip (run anyway)
    message: str
    line: int

    @property
    def is_error(self) -> bool:
        return self.rule.startswith("E")

    def __str__(self) -> str:
        return f"{self.rule} line {self.line}: {self.message}" if self.line else f"{self.rule}: {self.message}"


def version() -> str:
    from cfnlint.version import __version__

    return __version__


def lint(template: Path, regions: list[str]) -> list[LintFinding]:
    from cfnlint.api import ManualArgs  # imported here: cfn-lint takes a second to load
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    with tempfile.TemporaryDirectory(prefix="edalab-cfnlint-") as scratch:
        no_config = Path(scratch) / "cfnlintrc.yaml"
        no_config.write_text("{}\n")
        config = ManualArgs(regions=regions, mandatory_checks=list(RULES), include_checks=list(RULES),
                            ignore_checks=[], configure_rules={})
        # the config file given on the command line replaces the cwd's and the home folder's
        matches = list(Runner(ConfigMixIn(["--template", str(template), "--config-file", str(no_config)],
                                          **config)).run())
    return [LintFinding(m.rule.id, m.message, m.linenumber) for m in matches] + silencings(cfn_template.load(template))


def silencings(document: dict) -> list[LintFinding]:
    """Rules the template asks cfn-lint to skip (template- or resource-level Metadata)."""
    found = []
    places = [("the template", document.get("Metadata") or {})] + [
        (f"resource {name}", resource.get("Metadata") or {}) for name, resource in document["Resources"].items()]
    for where, metadata in places:
        ignored = (((metadata.get("cfn-lint") or {}).get("config") or {}).get("ignore_checks")) or []
        if ignored:
            found.append(LintFinding("silenced", f"{where} asks cfn-lint to skip {', '.join(map(str, ignored))} "
                                                 "(Metadata cfn-lint config); they ran anyway", 0))
    return found

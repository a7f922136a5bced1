"""LocalStack-only endpoints in a handler's code or a template, which would break on AWS.

Why this exists: code that names the engine (`endpoint_url="http://localhost:4566"`,
`AWS_ENDPOINT_URL`, a `localstack` host) works here and fails, or worse reaches something
else, on AWS, where every client finds its service's endpoint from the region on its own. The
handler code read here is the learner's (their files go to AWS), as Python syntax: strings and
keyword arguments count, comments and docstrings do not (a comment may well say what runs
locally). The template's string values are read the same way, without its comments and
descriptions.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from edalab.aws_packaging import cfn_template

LOCAL_ONLY = re.compile(r"localhost|127\.0\.0\.1|localstack|:4566\b|AWS_ENDPOINT_URL", re.IGNORECASE)
_ENDPOINT_ARGUMENTS = {"endpoint_url"}


@dataclass
class Finding:
    where: str  # file:line, or the template path of a value
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def in_handler(folder: Path, root: Path) -> list[Finding]:
    found = []
    for source in sorted(folder.rglob("*.py")):
        if "__pycache__" in source.parts:
            continue
        tree = ast.parse(source.read_text(), filename=str(source))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        shown = source.relative_to(root) if source.is_relative_to(root) else source
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg in _ENDPOINT_ARGUMENTS:
                found.append(Finding(f"{shown}:{node.value.lineno}",
                                     f"passes {node.arg}=, so the client would not use AWS's endpoint for the region"))
            elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                  and (match := LOCAL_ONLY.search(node.value))):
                found.append(Finding(f"{shown}:{node.lineno}",
                                     f"the string {_excerpt(node.value)} names {match.group(0)!r}, which exists only locally"))
    return found


def in_template(document: dict) -> list[Finding]:
    return [Finding(path, f"the value {_excerpt(value)} names {match.group(0)!r}, which exists only locally")
            for path, value in cfn_template.strings(document)
            if path.rsplit(".", 1)[-1] != "Description" and (match := LOCAL_ONLY.search(value))]


def _excerpt(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= width else flat[:width] + "…")

"""A handler's zip for AWS, and proof that it imports with nothing but the runtime beside it.

Why this exists: the zip is what Lambda unpacks into /var/task, so it holds the handler's
files at its root and each vendored distribution as `pip install --target` lays it out. Its
bytes depend only on names and contents (fixed times, sorted entries), so an unchanged handler
gives the same zip and the same S3 key. `import_check` unpacks it and imports the handler in
a fresh, isolated interpreter whose path holds only the unpacked zip and the modules AWS's
runtime carries (boto3 and its requirements): a module the zip lacks fails there as it would
on AWS. That interpreter has dummy credentials and an endpoint nothing listens on, so module
code that made a request would fail rather than reach anyone.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from edalab.aws_packaging import dependencies

FIXED_TIME = (2020, 1, 1, 0, 0, 0)
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024  # bytes: a function's code and layers, unpacked
LAMBDA_ZIPPED_LIMIT = 50 * 1024 * 1024  # bytes: a zip uploaded directly
NOWHERE = "http://127.0.0.1:9"  # the discard port: a request made during the import check is refused
_IMPORT_CHECK = """
import importlib, json, sys
module, attribute = sys.argv[1], sys.argv[2]
try:
    found = importlib.import_module(module)
except ModuleNotFoundError as error:
    print(json.dumps({"missing": (error.name or "").split(".")[0], "error": f"{type(error).__name__}: {error}"}))
except BaseException as error:
    print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
else:
    print(json.dumps({"handler": callable(getattr(found, attribute, None)),
                      "outside": sorted({m.split(".")[0] for m, v in list(sys.modules.items())
                                         if getattr(v, "__file__", None) and not v.__file__.startswith(sys.argv[3])
                                         and not v.__file__.startswith(sys.argv[4])
                                         and not v.__file__.startswith(sys.base_prefix)})}))
"""


@dataclass
class ImportResult:
    missing: str = ""  # a top-level module the zip lacks
    error: str = ""  # what went wrong, as the interpreter said it
    handler_found: bool = False

    @property
    def ok(self) -> bool:
        return not self.error and self.handler_found


def build(handler_folder: Path, vendored: list[dependencies.Vendored]) -> bytes:
    """The zip: the handler's files at the root (no bytecode), then each distribution's files."""
    entries: dict[str, Path] = {}
    for dist in vendored:
        entries.update(dependencies.files(dist.name))
    for path in sorted(handler_folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            entries[path.relative_to(handler_folder).as_posix()] = path  # the handler's own file wins
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name].read_bytes())
    return buffer.getvalue()


def unzipped_size(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sum(info.file_size for info in archive.infolist())


def md5(data: bytes) -> str:
    """The S3 key `aws cloudformation package` gives an uploaded file."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def import_check(data: bytes, handler: str, environment: dict[str, str], region: str) -> ImportResult:
    """Imports `handler` (`app.handler`) from the unpacked zip in a fresh interpreter (isolated,
    no site-packages) that sees only the zip and what the runtime carries."""
    module, _, attribute = handler.rpartition(".")
    with tempfile.TemporaryDirectory(prefix="edalab-aws-plan-") as scratch:
        task, runtime = Path(scratch) / "task", Path(scratch) / "runtime"
        runtime.mkdir()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(task)
        for name, installed in dependencies.runtime_paths().items():
            (runtime / name).symlink_to(installed)
        env = {**environment, "PYTHONPATH": "", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_ACCESS_KEY_ID": "test",
               "AWS_SECRET_ACCESS_KEY": "test", "AWS_ENDPOINT_URL": NOWHERE, "LAMBDA_TASK_ROOT": str(task),
               "AWS_LAMBDA_FUNCTION_NAME": "aws-plan-import-check", "HTTP_PROXY": NOWHERE, "HTTPS_PROXY": NOWHERE}
        code = f"import sys; sys.path[:0] = [{str(task)!r}, {str(runtime)!r}]\n" + _IMPORT_CHECK
        try:
            done = subprocess.run([sys.executable, "-I", "-S", "-c", code, module, attribute, str(task), str(runtime)],
                                  cwd=task, env=env, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            return ImportResult(error=f"importing {module} took longer than 120 s")
    lines = done.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1])
    except (IndexError, ValueError):
        return ImportResult(error=f"the import check ended with code {done.returncode}: {done.stderr.strip()[-500:]}")
    if "outside" in answer and answer["outside"]:
        return ImportResult(error="imported modules from outside the zip and the runtime: " + ", ".join(answer["outside"]))
    return ImportResult(missing=answer.get("missing", ""), error=answer.get("error", ""),
                        handler_found=bool(answer.get("handler")))

"""Records which end-to-end test `make check LAB=10` runs: yours, or the reference solution's.

Why this exists: lab 10's exercise is a test file, not code the engine runs. The check runs the
test that was deployed last: `make deploy LAB=10` (and `make up`, `make reset`) records yours,
labs/10-testing/tests/test_uploads_e2e.py; deploying the solution records the solution's copy.
The path is kept in the engine (an SSM parameter), beside the stack it tests; the file itself
is read when the check runs, so an edit needs no redeploy.
"""

from pathlib import Path

from edalab import aws, settings

EXERCISE = "labs/10-testing/tests/test_uploads_e2e.py"
PARAMETER = "/edalab/10-testing/e2e-test"


def apply(endpoint, root: Path, say) -> None:
    path = (root / EXERCISE).resolve()
    shown = path.relative_to(settings.REPO_ROOT) if path.is_relative_to(settings.REPO_ROOT) else path
    aws.client("ssm", endpoint).put_parameter(Name=PARAMETER, Value=str(shown), Type="String", Overwrite=True)

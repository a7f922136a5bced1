"""Publishes lab 09's triage script (the exercise) to the team's runbook store after a deploy.

Why this exists: an on-call engineer runs the runbook automation the team has published, not
whatever is in someone's working copy. This step uploads `runbooks/dlq_triage.py` (your version,
or the solution's for `make solution`) to the bucket edalab-runbook-scripts, as
`aws s3 cp runbooks/dlq_triage.py s3://edalab-runbook-scripts/runbooks/dlq_triage.py` would;
`make check LAB=09` tests the published `decide()`. On AWS the same role is often played by an
SSM Automation document or a versioned S3 bucket.
"""

from pathlib import Path

from edalab import aws, bootstrap

STACK = "edalab-09-runbooks"
EXERCISE = Path("labs/09-runbooks/runbooks/dlq_triage.py")
KEY = "runbooks/dlq_triage.py"


def apply(endpoint, root: Path, say) -> None:
    bucket = bootstrap.stack_outputs(STACK, endpoint)["ScriptsBucket"]
    aws.client("s3", endpoint).put_object(Bucket=bucket, Key=KEY, Body=(root / EXERCISE).read_bytes(),
                                          ContentType="text/x-python")
    say(f"published {EXERCISE} to s3://{bucket}/{KEY}")

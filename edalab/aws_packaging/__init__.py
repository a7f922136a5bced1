"""Packaging a lab for a real AWS account, offline (the parts behind `make aws-plan`).

Why this exists: a learner who finished a lab may want to run it on AWS with their own
credentials. Locally, bootstrap uploads bare handler folders to the engine and fills the
template's code parameters; AWS needs more: each handler zipped with the third-party packages
it imports (the Python runtime carries boto3, not Powertools), a template that points at those
zips the way `aws cloudformation package` does, a template cfn-lint accepts with no rule
silenced, and code that reaches no LocalStack-only endpoint. Each module does one of those:

    cfn_template   reads a template (intrinsics in long form), points functions at zips
    dependencies   which installed distributions a handler needs at run time
    handler_zip    the zip itself, and an import of it in a fresh interpreter
    endpoints      LocalStack-only endpoints in handler code or the template
    lint           cfn-lint, every E and W rule, none ignored
    commands       the AWS CLI commands the learner runs

Nothing here creates a client or opens a connection: `edalab.aws_plan` only writes files
under the state folder and prints.
"""

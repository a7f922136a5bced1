"""LocalStack plugins that make the engine whole without Docker.

LocalStack finds them through entry points (see pyproject.toml): a Lambda runtime executor
that runs functions as local processes, and a DynamoDB provider backed by moto. Nothing here
imports LocalStack at package import time, because function processes import this package too.
"""

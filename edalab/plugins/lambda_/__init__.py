"""Lambda: the local runtime executor (functions as local processes running `awslambdaric`)
and the fixes to what LocalStack's Lambda service does around it (metrics, SQS polling).

Function processes import `function_bootstrap` from here, so this package imports nothing
from LocalStack at import time.
"""

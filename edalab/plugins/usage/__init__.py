"""Usage metering: the engine counts what it serves, exactly, so lab 08 can price a run.

Why this exists: AWS bills requests, payload chunks, invocation time, capacity units and log
bytes; a price per million means nothing without the counts it multiplies. Every request passes
LocalStack's handler chain, so one response handler sees them all, from outside (CLI, scripts,
tests, the console) and from inside (a function's SDK calls, an event source mapping's polls,
SNS and EventBridge deliveries, Lambda's own log writes). One job per module:
- `counters`: the store (one lock, dict increments) and the usage document it answers;
- `billing`: AWS's billing rules (64 KB chunks, S3 tiers, DynamoDB units), pure functions;
- `callers`: who made a request (a client, the console, a function, a mapping, the engine);
- `request_hook`: the handler-chain hooks that classify each call and count it;
- `lambda_billing`: each invocation's billed duration and GB-seconds (our executor's duration), and
  the mark that names a mapping's Invoke calls;
- `sns_deliveries`: SNS deliveries per protocol (email, SMS and HTTP never pass the gateway);
- `route`: `GET`/`DELETE /_edalab/usage`;
- `install`: the start-up hook that puts them in place (not with EDALAB_STOCK_SERVICES=usage).

Nothing here imports LocalStack at package import time.
"""

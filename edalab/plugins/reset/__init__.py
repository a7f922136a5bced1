"""The engine's reset in place: `POST /_edalab/reset` empties every service's state without a restart.

Why this exists: `make reset` restarted LocalStack and redeployed every lab (11 s with seven labs);
the state is all in memory, so it can be emptied where it is. One job per module:
- `background`: `stop_all()` / `start_all()`, the background work of a state (its CONTRACT is
  what the snapshot's restore builds on);
- `lambda_runtime`, `sqs_runtime`, `events_runtime`, `cloudwatch_runtime`, `deliveries`: that
  work, per service;
- `stores`: the visitor that empties LocalStack's stores, moto's backends and S3's object files;
- `own_state`: what our plugins and LocalStack keep outside the stores (usage counters, Logs
  Insights queries, sent email, the local inbox);
- `internal_clients`: LocalStack's internal clients, whose idle connections a reset closes;
- `services`: the running services and their providers, found without loading any;
- `engine_reset`: the order of it all, timed; `route`: the HTTP route; `install`: the start-up
  hook that serves it (not with EDALAB_STOCK_SERVICES=reset).

Nothing here imports LocalStack at package import time.
"""

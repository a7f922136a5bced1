"""The baseline snapshot: the engine's whole state saved to the state folder and loaded back in process.

Why this exists: `make reset` and `make up` used to restart LocalStack and redeploy every lab
through CloudFormation (10+ s, growing with each lab) for a result that is the same every time.
This plugin saves what the deploy produced and loads it back in well under a second:

- `containers`: every loaded service's state containers, found through LocalStack's own
  persistence API (`Service.accept_state_visitor`): `AccountRegionBundle` stores, moto
  `BackendDict`s (our DynamoDB, IAM, Logs ...) and asset directories (CloudWatch's metric
  database), pickled with LocalStack's dill wrapper (`localstack.state.pickle`);
- `s3_objects`: S3's object bytes, which LocalStack keeps in memory outside its stores;
- `engine_state`: the order of it all, reading every file before anything live changes;
- `route`: `POST /_edalab/snapshot` (save) and `POST /_edalab/restore` (load), installed by
  `install` at engine start.

The services' own `on_before/after_state_save/load` hooks run around it, as LocalStack's
persistence runs them, except Lambda's and CloudWatch's: the reset plugin's
`background.stop_all()` / `start_all()` stop the old state's work before the load and start the
work of the loaded one (mapping workers, function versions, alarm schedules, EventBridge's
rules and scheduled jobs) after it; in between, the reset plugin's own parts empty every store
and our plugins' state (usage counts, Insights queries, sent email, the inbox) as a reset does.
"""

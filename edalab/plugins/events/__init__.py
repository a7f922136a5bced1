"""EventBridge: archives and replays, target dead-letter queues and input transformers, as AWS
documents them."""

"""SQS: the queue metrics LocalStack publishes, made cheap and complete."""

#!/usr/bin/env bash
# Lab 00's exercise, done with the commands from the README.
set -euo pipefail
endpoint="http://${LOCALSTACK_HOST:-localhost:4566}"

# 1. a first message, to the queue the welcome stack created
queue_url=$(awslocal sqs get-queue-url --queue-name edalab-welcome-uploads --query QueueUrl --output text)
awslocal sqs send-message --queue-url "$queue_url" --message-body "hello from the welcome lab"

# 2. a first notification, with the attribute the queue's filter policy asks for
awslocal sns publish \
  --topic-arn arn:aws:sns:us-east-1:000000000000:edalab-welcome-news \
  --message "hello, subscribers" \
  --message-attributes '{"kind": {"DataType": "String", "StringValue": "welcome"}}'

# 3. a first API call (the API's id is edalab-welcome, fixed by the template)
curl -sS -X POST "$endpoint/_aws/execute-api/edalab-welcome/dev/events" \
  -H 'Content-Type: application/json' -d '{"id": "hello"}'
echo

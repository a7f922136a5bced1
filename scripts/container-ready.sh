#!/bin/bash
# LocalStack's ready hook in container mode: deploys every lab stack with the same bootstrap
# code host mode uses. It runs on LocalStack's own Python, which has boto3 and PyYAML.
set -euo pipefail
cd /opt/edalab
PYTHONPATH=/opt/edalab python -m edalab bootstrap

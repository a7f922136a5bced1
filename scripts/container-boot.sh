#!/bin/bash
# LocalStack's boot hook in container mode, run before LocalStack starts: registers this
# project's engine plugins (edalab/plugins/) with the image's Python, so the container's
# LocalStack loads the same fixes as the host engine. See edalab/plugin_install.py.
set -euo pipefail
PYTHONPATH=/opt/edalab python -m edalab.plugin_install

#!/usr/bin/env bash
# Lab 08's reference solution needs measured runs to be right: it runs every experiment's
# settings once, small (COUNT=20: rough figures, a few seconds each), then writes the report.
# The choice itself is solution/files/labs/08-cost-performance/choice.yaml (recorded on deploy).
set -euo pipefail
for name in batch-10 batch-1 batch-100 window-1 window-5 polling-short memory-128 memory-1769; do
  python -m edalab experiment 08 "$name" --count 20
done
python -m edalab report 08

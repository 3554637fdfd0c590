#!/usr/bin/env bash
# The reference for the restart benchmark: one workload at a time, as a hand-written runbook does it.
# Reads "namespace deployment" lines on stdin. Usage: KUBECTL=kubectl serial-restart.sh [kubectl flags]
set -euo pipefail
k() { "${KUBECTL:-kubectl}" "$@"; }
while read -r ns name; do
  k "$@" rollout restart "deployment/$name" -n "$ns" >/dev/null
  k "$@" rollout status "deployment/$name" -n "$ns" --timeout=10m >/dev/null
done

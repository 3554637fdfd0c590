#!/usr/bin/env bash
# The reference for the discovery benchmark: what a person scripts by hand to find the sidecar version of every
# Dapr-enabled Deployment. One kubectl call per namespace, then one per workload for its pods' daprd image.
# Prints "namespace/name image". Usage: KUBECTL=kubectl naive-runbook.sh [kubectl flags, e.g. --kubeconfig F]
set -euo pipefail
k() { "${KUBECTL:-kubectl}" "$@"; }
for ns in $(k "$@" get namespaces -o jsonpath='{.items[*].metadata.name}'); do
  # Dapr-enabled Deployments and their app label (the selector these apps use).
  while read -r name app; do
    [ -n "$name" ] || continue
    image=$(k "$@" get pods -n "$ns" -l "app=$app" -o jsonpath='{.items[*].spec.containers[?(@.name=="daprd")].image}')
    echo "$ns/$name ${image:-none}"
  done < <(k "$@" get deploy -n "$ns" -o jsonpath='{range .items[?(@.spec.template.metadata.annotations.dapr\.io/enabled=="true")]}{.metadata.name}{" "}{.spec.selector.matchLabels.app}{"\n"}{end}')
done

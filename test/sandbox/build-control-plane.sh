#!/usr/bin/env bash
# Builds the sandbox control plane once and caches it outside the repository:
#   kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes from the Go module proxy),
#   kwok (simulated nodes and pod status) and etcd (Debian's etcd-server package, unpacked).
# Prints the cache's bin directory on its last line. A warm cache returns at once.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-1.33.13}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
CACHE_ROOT=${DAPRUP_SANDBOX_CACHE:-$HOME/.cache/daprup-sandbox}
KEY="k8s-v${K8S_VERSION}_kwok-${KWOK_VERSION}_etcd-debian"
OUT="$CACHE_ROOT/$KEY/bin"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod

have_all() {
  for b in kube-apiserver kube-controller-manager kube-scheduler kwok etcd; do
    [ -x "$OUT/$b" ] || return 1
  done
  [ -d "$CACHE_ROOT/$KEY/kwok-stages" ] || return 1
}

if have_all; then
  echo "$OUT"
  exit 0
fi

# Only one build at a time per cache (CI and a developer's demo can race).
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build.lock"
flock 9
if have_all; then echo "$OUT"; exit 0; fi

command -v go >/dev/null || { echo "Go (>= 1.26) is needed to build the sandbox control plane once" >&2; exit 1; }
mkdir -p "$OUT"
WORK="$CACHE_ROOT/$KEY/src"
# Everything is built into STAGE and renamed into OUT (same filesystem, atomic): an interrupted build must never
# leave a truncated but executable binary in OUT, which have_all would then accept forever.
STAGE="$CACHE_ROOT/$KEY/bin.partial"
rm -rf "$STAGE"
mkdir -p "$WORK/k8s-cp" "$STAGE"
log() { echo "[sandbox build] $*" >&2; }
publish() { for b in "$@"; do mv -f "$STAGE/$b" "$OUT/$b"; done; }

# --- kube-apiserver, kube-controller-manager, kube-scheduler -------------------------------------------
if [ ! -x "$OUT/kube-apiserver" ] || [ ! -x "$OUT/kube-controller-manager" ] || [ ! -x "$OUT/kube-scheduler" ]; then
  log "building Kubernetes v$K8S_VERSION control plane (a cold build takes tens of minutes on two cores)"
  MINOR=$(echo "$K8S_VERSION" | cut -d. -f2)
  STAGING_VER="v0.${K8S_VERSION#1.}"
  cd "$WORK/k8s-cp"
  rm -f go.mod go.sum
  go mod init daprup.local/sandbox-k8s-cp >/dev/null 2>&1
  go mod edit -go=1.26
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with ./staging paths;
  # as the main module we replace each with its published version, read from the go.mod the proxy serves.
  GOMODFILE=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  for m in $(sed -n 's|^[[:space:]]*\(k8s.io/[^ ]*\) => \./staging/src/.*|\1|p' "$GOMODFILE"); do
    go mod edit -replace="$m=$m@$STAGING_VER"
  done
  GD=$(sed -n 's/^godebug \(.*\)/\1/p' "$GOMODFILE" | head -1)
  if [ -n "$GD" ]; then go mod edit -godebug="$GD"; fi
  go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION" \
               "k8s.io/kubernetes/cmd/kube-controller-manager@v$K8S_VERSION" \
               "k8s.io/kubernetes/cmd/kube-scheduler@v$K8S_VERSION" >&2
  LDF="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    LDF+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$MINOR"
    LDF+=" -X $p.gitTreeState=clean -X $p.gitCommit=0000000000000000000000000000000000000000"
    LDF+=" -X $p.buildDate=2026-01-01T00:00:00Z"
  done
  go build -trimpath -ldflags "$LDF" -o "$STAGE/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler >&2
  cd - >/dev/null
  publish kube-apiserver kube-controller-manager kube-scheduler
fi

# --- kwok and its stage files -------------------------------------------------------------------------
if [ ! -x "$OUT/kwok" ]; then
  log "building kwok $KWOK_VERSION"
  GOBIN="$STAGE" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2
  publish kwok
fi
if [ ! -d "$CACHE_ROOT/$KEY/kwok-stages" ]; then
  KWOK_DIR=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  mkdir -p "$CACHE_ROOT/$KEY/kwok-stages.tmp"
  cp -r "$KWOK_DIR/kustomize/stage/." "$CACHE_ROOT/$KEY/kwok-stages.tmp/"
  chmod -R u+w "$CACHE_ROOT/$KEY/kwok-stages.tmp"
  mv "$CACHE_ROOT/$KEY/kwok-stages.tmp" "$CACHE_ROOT/$KEY/kwok-stages"
fi

# --- etcd from Debian, unpacked without running maintainer scripts ------------------------------------
if [ ! -x "$OUT/etcd" ]; then
  log "fetching etcd-server from Debian"
  DEB_DIR=$(mktemp -d)
  ( cd "$DEB_DIR" && { apt-get download etcd-server >&2 2>/dev/null || { apt-get update >&2 && apt-get download etcd-server >&2; }; } )
  dpkg-deb -x "$DEB_DIR"/etcd-server_*.deb "$DEB_DIR/root"
  cp "$DEB_DIR/root/usr/bin/etcd" "$STAGE/etcd"
  rm -rf "$DEB_DIR"
  publish etcd
fi

rm -rf "$STAGE"
have_all || { echo "sandbox build incomplete in $OUT" >&2; exit 1; }
echo "$OUT"

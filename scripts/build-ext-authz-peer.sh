#!/usr/bin/env bash
# Builds test/peers/ext-authz (Envoy's ext_authz, rls and access log gRPC services on Envoy's
# own generated types) with Go, from modules fetched through the Go module proxy at the versions its go.sum
# pins. The binary is cached outside the tree, keyed by the peer's sources:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/tollgate/ext-authz-peer-<sha256>/ext-authz-peer
# Only the binary's path is printed on stdout; progress goes to stderr. There is no
# fallback: without Go or the module proxy this fails loudly.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../test/peers/ext-authz"
sum="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-16)"
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/tollgate/ext-authz-peer-$sum"
binary="$cache_dir/ext-authz-peer"

die() { printf 'build-ext-authz-peer: ERROR: %s\n' "$*" >&2; exit 1; }

if [[ -x "$binary" ]]; then
  printf '%s\n' "$binary"
  exit 0
fi
command -v go >/dev/null 2>&1 \
  || die "Go is not installed (or not on PATH). The gRPC ExternalAuth end-to-end test builds its authorization service with Go >= 1.26."

mkdir -p "$cache_dir"
exec 9>"$cache_dir/.lock"
flock 9
if [[ -x "$binary" ]]; then
  printf '%s\n' "$binary"
  exit 0
fi
export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=readonly" CGO_ENABLED=0
printf 'build-ext-authz-peer: building (a minute on a cold module cache)\n' >&2
(cd "$src" && go build -ldflags "-s -w" -o "$cache_dir/.ext-authz-peer.tmp" .) >&2 \
  || die "go build of test/peers/ext-authz failed (see the output above)"
mv -f "$cache_dir/.ext-authz-peer.tmp" "$binary"
printf '%s\n' "$binary"

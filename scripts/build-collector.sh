#!/usr/bin/env bash
# Builds the upstream OpenTelemetry Collector with the OpenTelemetry Collector Builder (ocb)
# from Go modules fetched through the Go module proxy, at the pinned version in
# OTELCOL_VERSION below (components: scripts/collector/manifest.yaml). The binary is cached
# outside the tree:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/tollgate/otelcol-<version>/otelcol-tollgate
# A second run with an unchanged manifest returns at once. The binary's path is the only
# thing printed on stdout; progress goes to stderr.
#
# There is no fallback: without Go or the module proxy this script fails loudly, because a
# test that silently ran against something else would prove nothing.
set -euo pipefail

# One release train of core (0.x and its stable 1.x twin) and contrib; bump them together.
# 0.161.0 is the newest train whose whole module graph the configured module proxy serves:
# for 0.162.0-0.164.0 it refuses the zips of core's internal/statusutil (imported by the otlp
# receiver) and of contrib's otlpencodingextension (a test dependency that `go mod tidy`
# inside ocb still resolves).
OTELCOL_VERSION=0.161.0
OTELCOL_STABLE_VERSION=1.67.0
here="$(cd "$(dirname "$0")" && pwd)"
manifest_src="$here/collector/manifest.yaml"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/tollgate"
cache_dir="$cache_root/otelcol-$OTELCOL_VERSION"
binary="$cache_dir/otelcol-tollgate"
stamp="$cache_dir/manifest.sha256"

log() { printf 'build-collector: %s\n' "$*" >&2; }
die() { printf 'build-collector: ERROR: %s\n' "$*" >&2; exit 1; }

manifest_sum="$( (cat "$manifest_src"; echo "$OTELCOL_VERSION $OTELCOL_STABLE_VERSION") | sha256sum | cut -d' ' -f1)"
cached() { [[ -x "$binary" && -f "$stamp" && "$(cat "$stamp")" == "$manifest_sum" ]]; }

if cached; then
  printf '%s\n' "$binary"
  exit 0
fi

command -v go >/dev/null 2>&1 \
  || die "Go is not installed (or not on PATH). The collector end-to-end tests need Go to build the OpenTelemetry Collector; install Go >= 1.26 and rerun."

mkdir -p "$cache_dir"
# One build at a time: CI and a developer's test run may both ask for the binary.
exec 9>"$cache_dir/.lock"
flock 9
if cached; then
  printf '%s\n' "$binary"
  exit 0
fi

export GOTOOLCHAIN=local   # never download another toolchain behind the user's back
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export CGO_ENABLED=0
export GOBIN="$cache_root/bin"
builder="$GOBIN/builder-v$OTELCOL_VERSION"

log "checking the Go module proxy ($(go env GOPROXY))"
# `-versions` asks the proxy itself; a plain module@version lookup would be answered from
# the local module cache and hide an unreachable proxy until halfway through the build.
if ! timeout 120 go list -m -versions go.opentelemetry.io/collector/cmd/builder >/dev/null 2>"$cache_dir/proxy-check.log"; then
  cat "$cache_dir/proxy-check.log" >&2
  die "cannot reach the Go module proxy to fetch go.opentelemetry.io/collector/cmd/builder@v$OTELCOL_VERSION. The collector end-to-end tests need it (GOPROXY=$(go env GOPROXY))."
fi

if [[ ! -x "$builder" ]]; then
  log "installing ocb v$OTELCOL_VERSION"
  mkdir -p "$GOBIN"
  tmp_gobin="$(mktemp -d "$GOBIN/.install.XXXXXX")"
  GOBIN="$tmp_gobin" go install "go.opentelemetry.io/collector/cmd/builder@v$OTELCOL_VERSION" \
    || die "go install of the OpenTelemetry Collector Builder failed"
  mv "$tmp_gobin/builder" "$builder"
  rmdir "$tmp_gobin"
fi

work="$(mktemp -d "$cache_dir/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
sed -e "s|@OUTPUT_PATH@|$work/out|" \
    -e "s|@OTELCOL_VERSION@|$OTELCOL_VERSION|g" \
    -e "s|@OTELCOL_STABLE_VERSION@|$OTELCOL_STABLE_VERSION|g" \
    "$manifest_src" > "$work/manifest.yaml"
if grep -q '@[A-Z_]*@' "$work/manifest.yaml"; then die "unfilled placeholder in $manifest_src"; fi

log "building otelcol-tollgate $OTELCOL_VERSION (several minutes on a cold module cache)"
"$builder" --config "$work/manifest.yaml" --ldflags "-s -w" >&2 \
  || die "ocb failed to build the collector (see the output above)"

"$work/out/otelcol-tollgate" --version >&2 \
  || die "the built collector does not run"
"$work/out/otelcol-tollgate" components >"$work/components.txt" 2>&1 \
  || die "the built collector cannot list its components"
for component in otlp debug file bearertokenauth; do
  grep -q "name: $component\$" "$work/components.txt" \
    || die "the built collector lacks the '$component' component"
done

mv -f "$work/out/otelcol-tollgate" "$binary"
printf '%s\n' "$manifest_sum" > "$stamp"
log "cached at $binary"
printf '%s\n' "$binary"

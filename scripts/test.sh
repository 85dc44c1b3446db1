#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: formatting and vet checks,
# the FerretDB build the MongoDB tests need (a real MongoDB wire-protocol
# server, built from the Go module proxy by tools/ferretdb), then every test
# under the race detector. Set REQCACHE_TEST_MONGO_URI to test against a
# real MongoDB instead of FerretDB.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...
# The peer benchmarks are a module of their own (users never download the
# peers): vet compiles them, so they cannot rot unnoticed.
(cd bench && go vet ./...)
# Real client libraries driven through Install (clients/), and the
# adapters with heavier dependencies (contrib/*): modules of their own for
# the same reason.
(cd clients && go vet ./...)
(cd browsertest && go vet ./...)
for mod in contrib/*/; do (cd "$mod" && go vet ./...); done

echo "== staticcheck"
# Pinned, built once from the module proxy into .cache/bin like FerretDB,
# and run over every module of the repository (each go.mod).
STATICCHECK_VERSION=v0.8.2
if [ ! -x .cache/bin/staticcheck ] || [ "$(cat .cache/bin/staticcheck.version 2>/dev/null)" != "$STATICCHECK_VERSION" ]; then
  mkdir -p .cache/bin
  GOBIN="$PWD/.cache/bin" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
  echo "$STATICCHECK_VERSION" > .cache/bin/staticcheck.version
fi
for mod in $(git ls-files '*go.mod' 2>/dev/null || find . -name go.mod -not -path './.cache/*'); do
  dir=$(dirname "$mod")
  echo "   $dir"
  (cd "$dir" && "$OLDPWD/.cache/bin/staticcheck" ./...)
done

if [ -z "${REQCACHE_TEST_MONGO_URI:-}" ] && [ -f scripts/ferretdb.sh ]; then
  echo "== building FerretDB (first build takes a few minutes)"
  bash scripts/ferretdb.sh build
fi

echo "== Chromium (for the debug page's browser test)"
# Debian's chromium package; installed once, as root or through sudo.
if ! command -v chromium >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } \
    || echo "   could not install chromium: the browser test fails under CI, skips elsewhere"
fi
browser_note=""
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1; then
  browser_note="   SKIPPED: the debug page's browser test (browsertest/): no Chromium here, and apt-get could not install it (needs root or sudo)"
  echo "$browser_note"
fi

echo "== go test -race"
# The load tests (a soak run, a million stored responses) run here, not in
# a developer's default go test.
REQCACHE_LOAD_TESTS=1 go test -race -count=1 -timeout 25m ./... "$@"

echo "== go test (real client libraries, the browser), go test -race (contrib adapters)"
# Without -race: the SDKs' dependencies (AWS, GCS with gRPC, client-go)
# take ~6 minutes to build with the race detector and ~1 without, and
# these tests check what reaches an origin, not reqcache's concurrency
# (the main module's -race run above does).
(cd clients && go test -count=1 -timeout 10m ./...)
# The debug page in headless Chromium, against examples/debugpage running.
(cd browsertest && go test -count=1 -timeout 5m ./...)
for mod in contrib/*/; do (cd "$mod" && go test -race -count=1 -timeout 10m ./...); done
if [ -n "$browser_note" ]; then echo "$browser_note"; fi   # said again where the run ends

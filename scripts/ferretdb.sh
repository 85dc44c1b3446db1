#!/usr/bin/env bash
# Builds the FerretDB binary the MongoDB tests start (tools/ferretdb, its own
# Go module) into .cache/bin/ferretdb, once. The first build takes about
# three minutes; later calls return at once.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-build}" in
  build)
    if [ -x .cache/bin/ferretdb ]; then exit 0; fi
    mkdir -p .cache/bin
    (cd tools/ferretdb && go build -o ../../.cache/bin/ferretdb.tmp .)
    mv .cache/bin/ferretdb.tmp .cache/bin/ferretdb
    ;;
  *) echo "usage: $0 build" >&2; exit 2 ;;
esac

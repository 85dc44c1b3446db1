#!/usr/bin/env bash
# Refreshes internal/oracle/shapes/corpus.json, the shapes of the requests
# the SDKs in clients/ send, which the model test's generator draws from.
# Run it after adding or upgrading an SDK there (the clients tests fail
# while the corpus misses a shape they saw), and commit the diff.
set -euo pipefail
cd "$(dirname "$0")/../clients"
go test -count=1 ./... -update-shapes
git -C .. diff --stat -- internal/oracle/shapes/corpus.json

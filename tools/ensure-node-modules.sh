#!/usr/bin/env bash
# npm ci, only when node_modules is missing or older than package-lock.json.
# flock: other people (or a concurrent CI step) may install into the same checkout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=node-env.sh
STRATA_NODE_QUIET=1 source tools/node-env.sh
if [ -d node_modules ] && [ -f node_modules/.package-lock.json ] &&
  ! [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "node_modules is up to date with package-lock.json; skipping npm ci"
  exit 0
fi
flock /tmp/strata-npm.lock npm ci --no-audit --no-fund

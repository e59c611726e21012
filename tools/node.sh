#!/usr/bin/env bash
# Runs node (>= 24, see node-env.sh) with the given arguments, e.g. for the benches:
#   bash tools/node.sh --import tsx bench/scan/run.ts
set -euo pipefail
# shellcheck source=node-env.sh
STRATA_NODE_QUIET=1 source "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"
exec node "$@"

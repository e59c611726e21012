#!/usr/bin/env bash
# The README's scan command: bash tools/demo.sh [strata image flags...]
# Installs the dependencies, builds the CLI and the demo image (an OCI layout made from
# fixtures/demo/layers), and scans it embedded, with no servers and no network, against the sample
# OSV advisories in fixtures/advisories.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=node-env.sh
STRATA_NODE_QUIET=1 source tools/node-env.sh
bash tools/ensure-node-modules.sh >&2
node tools/bundle.mjs --deps apps/cli/src/main.ts apps/cli/dist/strata.mjs
out=.strata-demo
rm -rf "$out/image"
node --import tsx fixtures/demo/build-image.ts "$out/image"
exec node apps/cli/bin/strata.mjs image "oci:$out/image:demo" --db fixtures/advisories --cache-dir "$out/cache" "$@"

#!/usr/bin/env bash
# Scaffolds a workspace project: tools/new-project.sh <libs|services|apps> <name> <layer-tag>
# layer-tag: base | domain | adapter | wiring (libs); services and apps get layer:wiring.
set -euo pipefail
kind=$1 name=$2 layer=${3:-wiring}
dir="$(cd "$(dirname "$0")/.." && pwd)/$kind/$name"
[ -e "$dir/package.json" ] && { echo "$dir exists"; exit 0; }
case $kind in libs) type=lib;; services) type=service;; apps) type=app;; *) echo "bad kind $kind"; exit 2;; esac
mkdir -p "$dir/src"
cat > "$dir/package.json" <<JSON
{
  "name": "@strata/$name",
  "version": "0.0.0",
  "private": true,
  "type": "module",
  "exports": { ".": "./src/index.ts" },
  "scripts": {
    "build": "tsc -p tsconfig.json",
    "test": "node ../../tools/run-tests.mjs src",
    "lint": "eslint src"
  },
  "nx": { "tags": ["type:$type", "layer:$layer"] },
  "dependencies": {}
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "include": ["src/**/*.ts"]
}
JSON
[ -e "$dir/src/index.ts" ] || echo "export {};" > "$dir/src/index.ts"
echo "created $dir"

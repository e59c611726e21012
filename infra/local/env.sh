#!/usr/bin/env bash
# Prints `export` lines for the test environment variables of docs/conventions.md.
# Usage: source <(bash infra/local/env.sh)      or      eval "$(bash infra/local/env.sh)"
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kid=""
[ -s "$REGISTRY_DIR/token.kid" ] && kid="$(cat "$REGISTRY_DIR/token.kid")"
while IFS='=' read -r k v; do
  printf 'export %s=%q\n' "$k" "$v"
done <<EOT
STRATA_INFRA_CACHE=$CACHE
STRATA_TEST_KAFKA=$HOST:$KAFKA_PORT
STRATA_TEST_S3=http://$HOST:$MINIO_PORT
STRATA_TEST_S3_ACCESS_KEY=$MINIO_USER
STRATA_TEST_S3_SECRET_KEY=$MINIO_PASSWORD
STRATA_TEST_REGISTRY=$HOST:$REGISTRY_ANON_PORT
STRATA_TEST_REGISTRY_BASIC=$HOST:$REGISTRY_BASIC_PORT
STRATA_TEST_REGISTRY_USER=$REGISTRY_USER
STRATA_TEST_REGISTRY_PASSWORD=$REGISTRY_PASSWORD
STRATA_TEST_REGISTRY_TOKEN=$HOST:$REGISTRY_TOKEN_PORT
STRATA_TEST_TOKEN_REALM=http://$HOST:$TOKEN_REALM_PORT/token
STRATA_TEST_TOKEN_SERVICE=$TOKEN_SERVICE
STRATA_TEST_TOKEN_ISSUER=$TOKEN_ISSUER
STRATA_TEST_TOKEN_KEY=$REGISTRY_DIR/token.key
STRATA_TEST_TOKEN_CERT=$REGISTRY_DIR/token.crt
STRATA_TEST_TOKEN_KID=$kid
STRATA_TEST_PG_URL=$(pg_url)
PGHOST=$HOST
PGPORT=$PG_PORT
PGUSER=$PG_USER
PGPASSWORD=$PG_PASSWORD
PGDATABASE=$PG_DATABASE
EOT
# The coverage oracle, once infra/local/trivy.sh has built it (tests skip without it, fail in CI)
if [ -x "$TRIVY_BIN" ] && [ -s "$TRIVY_JAVA_DB/trivy-java.db" ]; then
  printf 'export STRATA_TEST_TRIVY=%q\n' "$TRIVY_BIN"
  printf 'export STRATA_TEST_TRIVY_JAVA_DB=%q\n' "$TRIVY_JAVA_DB"
fi
# Debian's Chromium (install.sh), the browser the console tests drive through playwright-core
if command -v chromium >/dev/null 2>&1; then
  printf 'export STRATA_TEST_CHROMIUM=%q\n' "$(command -v chromium)"
fi

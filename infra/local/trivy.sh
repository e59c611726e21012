#!/usr/bin/env bash
# Builds Trivy $TRIVY_VERSION from the Go module proxy into $CACHE/trivy/<version>/bin/trivy, and
# writes the empty Java DB it needs offline ($CACHE/trivy/java-db). Trivy is the coverage oracle of
# apps/cli/src/coverage.test.ts; nothing of Strata runs it otherwise.
# Cold, the build takes ~20 min on 2 cores, so install.sh starts this script detached in the
# background; tools/test-all.sh runs it again before the tests, which waits for that build (same
# lock) and returns at once when the binary is there. A failed background build is retried here.
# Usage: bash infra/local/trivy.sh                 build (or wait for the running build), then return
#        bash infra/local/trivy.sh --background    start the build detached unless it is done or running
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mkdir -p "$CACHE" "$LOG_DIR"

if [ "${1:-}" = --background ]; then
  if [ -x "$TRIVY_BIN" ] && [ -s "$TRIVY_JAVA_DB/trivy-java.db" ]; then
    log "trivy: $TRIVY_VERSION present at $TRIVY_BIN"
  elif ! flock -n "$CACHE/.trivy.lock" true; then
    log "trivy: a build is already running (log: $LOG_DIR/trivy-install.log)"
  else
    log "trivy: building $TRIVY_VERSION in the background (log: $LOG_DIR/trivy-install.log)"
    # setsid, no inherited fds: outlives the caller and holds none of its locks
    setsid bash "${BASH_SOURCE[0]}" </dev/null >>"$LOG_DIR/trivy.log" 2>&1 8>&- 9>&- &
  fi
  exit 0
fi

take_lock trivy

trivy_installed() {
  [ -x "$TRIVY_BIN" ] && command -v go >/dev/null &&
    go version -m "$TRIVY_BIN" 2>/dev/null | grep -qE "^[[:space:]]+mod[[:space:]]+github.com/aquasecurity/trivy[[:space:]]+$TRIVY_VERSION[[:space:]]"
}

if trivy_installed; then
  log "trivy: $TRIVY_VERSION already built at $TRIVY_BIN"
else
  command -v go >/dev/null || die "go is not installed (Trivy is built with 'go install'; Go >= 1.25 is needed)"
  start=$(date +%s)
  log "trivy: building $TRIVY_VERSION with go install (cold: ~20 min); log: $LOG_DIR/trivy-install.log"
  out="$(dirname "$TRIVY_BIN")"
  (
    # Module and build caches in the infra cache (shared with MinIO's build); Trivy needs jsonv2.
    export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOBIN="$out.tmp" \
      GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0 GOEXPERIMENT=jsonv2
    rm -rf "$out.tmp"
    cd /tmp
    go install "github.com/aquasecurity/trivy/cmd/trivy@$TRIVY_VERSION"
  ) >"$LOG_DIR/trivy-install.log" 2>&1 </dev/null || {
    tail -30 "$LOG_DIR/trivy-install.log" >&2
    die "building Trivy $TRIVY_VERSION failed after $(($(date +%s) - start))s (log: $LOG_DIR/trivy-install.log)"
  }
  mkdir -p "$out"
  mv -f "$out.tmp/trivy" "$TRIVY_BIN"
  rm -rf "$out.tmp"
  trivy_installed || die "Trivy at $TRIVY_BIN is not $TRIVY_VERSION after the build"
  log "trivy: built in $(($(date +%s) - start))s"
fi

if [ ! -s "$TRIVY_JAVA_DB/trivy-java.db" ] || [ ! -s "$TRIVY_JAVA_DB/metadata.json" ]; then
  # shellcheck source=../../tools/node-env.sh
  STRATA_NODE_QUIET=1 source "$INFRA_DIR/../../tools/node-env.sh"
  node "$INFRA_DIR/trivy-java-db.mjs" "$TRIVY_JAVA_DB" >&2
fi

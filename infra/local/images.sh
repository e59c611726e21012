#!/usr/bin/env bash
# Builds the real test images with real tools (debootstrap, umoci, skopeo), caches them under
# $STRATA_INFRA_CACHE/fixtures, pushes them to the loopback registries, and writes
# fixtures/images.json describing all of it (schema: infra/local/images/README.md).
#
# Usage (as root):  bash infra/local/images.sh [--build-only] [--force-push]
#   --build-only   build and export, but push nothing (no registry needed)
#   --force-push   push every tag even when the registry already has the recorded digest
# Idempotent: every step is skipped when its output exists; a registry that lost its data (or
# holds another digest than the one recorded) is pushed to again.
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source=../../tools/node-env.sh
STRATA_NODE_QUIET=1 source "$INFRA_DIR/../../tools/node-env.sh"
REPO_ROOT="$(cd "$INFRA_DIR/../.." && pwd)"
FILES="$INFRA_DIR/images"

build_only=0 force_push=0
for arg in "$@"; do
  case "$arg" in
    --build-only) build_only=1 ;;
    --force-push) force_push=1 ;;
    *) die "unknown argument $arg (expected --build-only or --force-push)" ;;
  esac
done

[ "$(id -u)" = 0 ] || die "images.sh must run as root (debootstrap, chroot, umoci unpack)"
for tool in debootstrap umoci skopeo jq tar sha256sum gzip chroot mount unshare curl node; do
  command -v "$tool" >/dev/null || die "$tool not installed; run infra/local/install.sh"
done

FIX="$CACHE/fixtures"
WORK="$FIX/work"
LAYOUT="$WORK/oci"          # umoci's build layout (all stages)
STATE="$FIX/state"          # per-step markers and recorded digests
mkdir -p "$FIX/cache" "$WORK" "$STATE"
take_lock images

# Step durations of the last build of each step are kept in $STATE/timing.<step> (seconds).
step_start=0
begin() { step_start=$(date +%s.%N); log "images: $1"; }
finish() {
  awk -v a="$step_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }' >"$STATE/timing.$1"
  log "images: $1 took $(cat "$STATE/timing.$1")s"
}

MIRROR="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
BASE_TAR="$FIX/cache/bookworm-minbase.tar"
APT_PACKAGES=(libexpat1 libsqlite3-0 bzip2 zstd libcurl3-gnutls)
PURGED_PACKAGES=(bzip2 tzdata)
PATH_ENV='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

# Deterministic tar of a staging directory's contents (no ./ prefix, root-owned).
tar_dir() { # tar_dir <dir> <out.tar>
  local dir="$1" out="$2"
  (cd "$dir" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort |
    tar --numeric-owner --owner=0 --group=0 --sort=name --mtime='2024-01-01 00:00:00Z' -cf "$out" -T -)
}

layout_has() { [ -f "$LAYOUT/index.json" ] && jq -e --arg t "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t)' "$LAYOUT/index.json" >/dev/null; }
layout_desc() { jq -c --arg t "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | del(.annotations)' "$LAYOUT/index.json"; }
blob() { local d="$1"; echo "$LAYOUT/blobs/${d%%:*}/${d#*:}"; }
manifest_of() { blob "$(layout_desc "$1" | jq -r .digest)"; }
config_of() { blob "$(jq -r .config.digest "$(manifest_of "$1")")"; }

# --- 1. debootstrap rootfs (cached tarball) ---------------------------------------------------
if [ ! -s "$BASE_TAR" ]; then
  begin "debootstrap --variant=minbase bookworm from $MIRROR"
  rm -rf "$WORK/debootstrap"
  debootstrap --variant=minbase bookworm "$WORK/debootstrap" "$MIRROR" >"$LOG_DIR/images-debootstrap.log" 2>&1 ||
    { tail -20 "$LOG_DIR/images-debootstrap.log" >&2; die "debootstrap failed (log: $LOG_DIR/images-debootstrap.log)"; }
  root="$WORK/debootstrap"
  # What a container base image does not carry: host files, downloaded .debs, device nodes.
  rm -f "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root/etc/hostname"
  : >"$root/etc/resolv.conf"
  find "$root/dev" -mindepth 1 -delete
  tar_dir "$root" "$BASE_TAR.tmp"
  mv "$BASE_TAR.tmp" "$BASE_TAR"
  rm -rf "$WORK/debootstrap"
  finish debootstrap
fi

# --- 2. debian-multi with umoci ---------------------------------------------------------------
BUNDLE="$WORK/bundle"
cleanup_mounts() {
  local m
  for m in "$BUNDLE/rootfs/dev" "$BUNDLE/rootfs/proc"; do
    if mountpoint -q "$m" 2>/dev/null; then umount -l "$m" || true; fi
  done
}
trap cleanup_mounts EXIT

in_chroot() { # in_chroot <command...>: runs in the bundle rootfs with /proc and /dev, no daemons
  local r="$BUNDLE/rootfs"
  mount -t proc proc "$r/proc"
  mount --bind /dev "$r/dev"
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
  chmod 755 "$r/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' >"$r/etc/apt/apt.conf.d/99strata-build"
  local rc=0
  chroot "$r" /usr/bin/env -i DEBIAN_FRONTEND=noninteractive "$PATH_ENV" LC_ALL=C "$@" || rc=$?
  rm -f "$r/usr/sbin/policy-rc.d" "$r/etc/apt/apt.conf.d/99strata-build"
  : >"$r/etc/resolv.conf"
  cleanup_mounts
  return "$rc"
}

if ! layout_has debian-multi; then
  begin "debian-multi: umoci layers"
  rm -rf "$LAYOUT" "$BUNDLE"
  umoci init --layout "$LAYOUT"
  umoci new --image "$LAYOUT:base"
  umoci config --image "$LAYOUT:base" --os linux --architecture amd64 --config.env "$PATH_ENV" \
    --history.created_by "ENV $PATH_ENV"
  # layer 1: the debootstrap rootfs
  umoci raw add-layer --image "$LAYOUT:base" --tag stage1 \
    --history.created_by "debootstrap --variant=minbase bookworm (rootfs tarball)" "$BASE_TAR"
  umoci unpack --image "$LAYOUT:stage1" "$BUNDLE" >/dev/null

  # layer 2: apt-get install (packages whose source name differs from the binary name)
  in_chroot sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${APT_PACKAGES[*]} >/dev/null && apt-get clean" \
    >"$LOG_DIR/images-apt.log" 2>&1 || { tail -20 "$LOG_DIR/images-apt.log" >&2; die "apt-get install in the chroot failed"; }
  rm -rf "$BUNDLE/rootfs/var/lib/apt/lists/"*
  umoci repack --refresh-bundle --image "$LAYOUT:stage2" \
    --history.created_by "/bin/sh -c apt-get update && apt-get install -y --no-install-recommends ${APT_PACKAGES[*]}" "$BUNDLE"

  # layer 3: dpkg --purge of a package from layer 2 (bzip2) and one from layer 1 (tzdata): whiteouts
  in_chroot dpkg --purge "${PURGED_PACKAGES[@]}" >"$LOG_DIR/images-purge.log" 2>&1 ||
    { tail -20 "$LOG_DIR/images-purge.log" >&2; die "dpkg --purge in the chroot failed"; }
  umoci repack --refresh-bundle --image "$LAYOUT:stage3" \
    --history.created_by "/bin/sh -c dpkg --purge ${PURGED_PACKAGES[*]}" "$BUNDLE"
  umoci config --image "$LAYOUT:stage3" --config.workingdir /opt/app --history.created_by "WORKDIR /opt/app"

  # layer 4: an application with node_modules (replaced wholesale in layer 5)
  umoci unpack --image "$LAYOUT:stage3" "$WORK/bundle4" >/dev/null
  rm -rf "$BUNDLE" && mv "$WORK/bundle4" "$BUNDLE"
  cp -a "$FILES/app-v1/." "$BUNDLE/rootfs/"
  umoci repack --image "$LAYOUT:stage4" --history.created_by "COPY app-v1/ / # opt/app with node_modules: minimist 1.2.5, left-pad 1.3.0, ms 2.1.2" "$BUNDLE"

  # layer 5: hand-made tar whose opt/app/node_modules carries an opaque whiteout
  rm -rf "$WORK/layer5" && mkdir -p "$WORK/layer5"
  cp -a "$FILES/app-v2/." "$WORK/layer5/"
  : >"$WORK/layer5/opt/app/node_modules/.wh..wh..opq"
  tar_dir "$WORK/layer5" "$WORK/layer5.tar"
  umoci raw add-layer --image "$LAYOUT:stage4" --tag stage5 \
    --history.created_by "/bin/sh -c rm -rf /opt/app/node_modules && npm ci # opaque dir: only minimist 1.2.8 remains" "$WORK/layer5.tar"

  # layer 6: language packages written by hand (npm global lodash, python dist-info)
  rm -rf "$WORK/layer6" && mkdir -p "$WORK/layer6"
  cp -a "$FILES/lang-packages/." "$WORK/layer6/"
  tar_dir "$WORK/layer6" "$WORK/layer6.tar"
  umoci raw add-layer --image "$LAYOUT:stage5" --tag stage6 \
    --history.created_by "COPY lang-packages/ / # lodash 4.17.15, Jinja2 2.10, urllib3 1.26.5" "$WORK/layer6.tar"
  umoci config --image "$LAYOUT:stage6" --tag debian-multi --config.cmd bash \
    --config.label org.opencontainers.image.title=strata-debian-multi --history.created_by 'CMD ["bash"]'
  rm -rf "$BUNDLE"
  finish debian_multi
fi

# --- 3. debian-tiny (shares the base layer), a small arm64 image, the multi-platform index -------
if ! layout_has debian-tiny; then
  begin "debian-tiny"
  rm -rf "$WORK/tiny" && mkdir -p "$WORK/tiny/etc/strata"
  printf 'debian-tiny: the debootstrap base plus this file\n' >"$WORK/tiny/etc/strata/image"
  tar_dir "$WORK/tiny" "$WORK/tiny.tar"
  umoci raw add-layer --image "$LAYOUT:stage1" --tag debian-tiny \
    --history.created_by "COPY image /etc/strata/image" "$WORK/tiny.tar"
  finish debian_tiny
fi
if ! layout_has small-arm64; then
  begin "small-arm64"
  umoci new --image "$LAYOUT:small-arm64"
  umoci config --image "$LAYOUT:small-arm64" --os linux --architecture arm64 --history.created_by "ARCH linux/arm64"
  rm -rf "$WORK/small" && mkdir -p "$WORK/small/etc/strata"
  printf 'small-arm64: a relabelled one-file image for index tests\n' >"$WORK/small/etc/strata/image"
  tar_dir "$WORK/small" "$WORK/small.tar"
  umoci raw add-layer --image "$LAYOUT:small-arm64" --history.created_by "COPY image /etc/strata/image" "$WORK/small.tar"
  finish small_arm64
fi
if ! layout_has multiarch; then
  begin "multiarch index (linux/amd64 = debian-tiny, linux/arm64/v8 = small-arm64)"
  amd="$(layout_desc debian-tiny)"
  arm="$(layout_desc small-arm64)"
  index="$(jq -cn --argjson a "$amd" --argjson b "$arm" '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [($a + {platform: {os: "linux", architecture: "amd64"}}), ($b + {platform: {os: "linux", architecture: "arm64", variant: "v8"}})]}')"
  printf '%s' "$index" >"$WORK/index.tmp"
  digest="sha256:$(sha256sum "$WORK/index.tmp" | cut -d' ' -f1)"
  size="$(stat -c %s "$WORK/index.tmp")"
  mv "$WORK/index.tmp" "$(blob "$digest")"
  jq --arg d "$digest" --argjson s "$size" '.manifests += [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s,
    annotations: {"org.opencontainers.image.ref.name": "multiarch"}}]' "$LAYOUT/index.json" >"$LAYOUT/index.json.tmp"
  mv "$LAYOUT/index.json.tmp" "$LAYOUT/index.json"
  finish multiarch
fi

# --- 3b. coverage: one package of every ecosystem, from the real registries (Trivy oracle) -------
# infra/local/images/coverage/stage.sh stages each layer's files; a change of anything in that
# folder rebuilds the image (its hash is kept in $STATE/coverage.recipe).
COV_DIR="$FILES/coverage"
COV_OUT="$FIX/oci-coverage"
COV_ARCHIVE="$FIX/coverage.tar"
cov_recipe="$(cd "$COV_DIR" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
if layout_has coverage && [ "$(cat "$STATE/coverage.recipe" 2>/dev/null)" != "$cov_recipe" ]; then
  log "images: coverage recipe changed; rebuilding the coverage image"
  umoci rm --image "$LAYOUT:coverage"
  rm -rf "$COV_OUT" "$COV_ARCHIVE" "$STATE/push-anonymous-strata_coverage-latest.digest"
fi
if ! layout_has coverage; then
  begin "coverage: stage from Maven Central, PyPI, npm, the Go proxy, crates.io, Debian"
  bash "$COV_DIR/stage.sh" "$WORK/coverage"
  cov_layers=(
    "jars|COPY jars from Maven Central: opt/java/lib (log4j, jackson-databind, commons-collections, spring-core/-beans without pom.properties), a Spring-Boot fat jar (BOOT-INF/lib), a .war (WEB-INF/lib)"
    "python|RUN pip install --no-deps --target /usr/local/lib/python3.11/site-packages requests==2.25.1 urllib3==1.26.4 idna==2.10 chardet==4.0.0 certifi==2020.12.5 Jinja2==2.11.2"
    "node|RUN cd /opt/node-app && npm ci # express@4.17.1 lodash@4.17.20 minimist@1.2.5"
    "binaries|COPY go-text-demo (golang.org/x/text v0.3.5), smallvec-demo (cargo auditable, smallvec 0.6.13) /usr/local/bin/"
    "manifests|COPY gem rack from Debian's ruby-rack to /usr/local/bundle; hand-written composer installed.json, .NET deps.json, conda-meta record"
  )
  umoci config --image "$LAYOUT:stage1" --tag coverage-build --config.workingdir /opt/app --history.created_by "WORKDIR /opt/app"
  for entry in "${cov_layers[@]}"; do
    IFS='|' read -r part by <<<"$entry"
    tar_dir "$WORK/coverage/$part" "$WORK/coverage-$part.tar"
    umoci raw add-layer --image "$LAYOUT:coverage-build" --history.created_by "$by" "$WORK/coverage-$part.tar"
    rm -f "$WORK/coverage-$part.tar"
  done
  umoci config --image "$LAYOUT:coverage-build" --tag coverage --config.cmd bash \
    --config.label org.opencontainers.image.title=strata-coverage --history.created_by 'CMD ["bash"]'
  umoci rm --image "$LAYOUT:coverage-build"
  rm -rf "$WORK/coverage" "$COV_OUT" "$COV_ARCHIVE"
  printf '%s\n' "$cov_recipe" >"$STATE/coverage.recipe"
  finish coverage
fi
if [ ! -f "$COV_OUT/index.json" ] || [ ! -s "$COV_ARCHIVE" ]; then
  begin "export oci:$COV_OUT:latest and docker-archive:$COV_ARCHIVE"
  rm -rf "$COV_OUT" "$COV_ARCHIVE.tmp"
  skopeo copy -q "oci:$LAYOUT:coverage" "oci:$COV_OUT:latest"
  skopeo copy -q "oci:$LAYOUT:coverage" "docker-archive:$COV_ARCHIVE.tmp:strata/coverage:latest"
  mv "$COV_ARCHIVE.tmp" "$COV_ARCHIVE"
  finish export_coverage
fi

# --- 4. exports: oci layout, docker-archive tars, final rootfs ------------------------------------
OCI_OUT="$FIX/oci-layout"
if ! jq -e '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | index("index")' "$OCI_OUT/index.json" >/dev/null 2>&1; then
  begin "export oci:$OCI_OUT:multi and :index"
  rm -rf "$OCI_OUT"
  skopeo copy -q "oci:$LAYOUT:debian-multi" "oci:$OCI_OUT:multi"
  skopeo copy -q --all "oci:$LAYOUT:multiarch" "oci:$OCI_OUT:index"
  finish export_oci
fi
SMALL_OUT="$FIX/oci-small"
if [ ! -f "$SMALL_OUT/index.json" ]; then
  skopeo copy -q "oci:$LAYOUT:small-arm64" "oci:$SMALL_OUT:latest"
fi
ARCHIVE="$FIX/debian-multi.tar"
if [ ! -s "$ARCHIVE" ]; then
  begin "export docker-archive:$ARCHIVE"
  rm -f "$ARCHIVE.tmp"
  skopeo copy -q "oci:$LAYOUT:debian-multi" "docker-archive:$ARCHIVE.tmp:strata/debian-multi:latest"
  mv "$ARCHIVE.tmp" "$ARCHIVE"
  finish export_docker_archive
fi
# The layout `docker save` writes since Docker 25: an OCI layout (uncompressed layers under
# blobs/sha256) plus manifest.json and repositories, all in one tar.
D25="$FIX/debian-tiny-docker25.tar"
if [ ! -s "$D25" ]; then
  begin "docker 25-style save of debian-tiny -> $D25"
  d="$WORK/d25" && rm -rf "$d" && mkdir -p "$d/blobs/sha256"
  m="$(manifest_of debian-tiny)"
  cfg="$(jq -r .config.digest "$m")"
  cp "$(blob "$cfg")" "$d/blobs/sha256/${cfg#sha256:}"
  layers='[]' paths='[]'
  for ld in $(jq -r '.layers[].digest' "$m"); do
    gzip -dc "$(blob "$ld")" >"$d/layer.tmp"
    h="$(sha256sum "$d/layer.tmp" | cut -d' ' -f1)"
    mv "$d/layer.tmp" "$d/blobs/sha256/$h"
    layers="$(jq -c --arg h "$h" --argjson s "$(stat -c %s "$d/blobs/sha256/$h")" \
      '. + [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: ("sha256:" + $h), size: $s}]' <<<"$layers")"
    paths="$(jq -c --arg h "$h" '. + ["blobs/sha256/" + $h]' <<<"$paths")"
  done
  jq -cn --arg c "$cfg" --argjson cs "$(stat -c %s "$(blob "$cfg")")" --argjson l "$layers" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs}, layers: $l}' | tr -d '\n' >"$d/manifest.tmp"
  md="$(sha256sum "$d/manifest.tmp" | cut -d' ' -f1)"
  ms="$(stat -c %s "$d/manifest.tmp")"
  mv "$d/manifest.tmp" "$d/blobs/sha256/$md"
  jq -cn --arg d "sha256:$md" --argjson s "$ms" '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
      annotations: {"io.containerd.image.name": "docker.io/strata/debian-tiny:latest", "org.opencontainers.image.ref.name": "latest"}}]}' >"$d/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
  jq -cn --arg c "blobs/sha256/${cfg#sha256:}" --argjson p "$paths" '[{Config: $c, RepoTags: ["strata/debian-tiny:latest"], Layers: $p}]' >"$d/manifest.json"
  jq -cn --arg top "$(jq -r '.[-1]' <<<"$paths" | sed 's|.*/||')" '{"strata/debian-tiny": {latest: $top}}' >"$d/repositories"
  tar_dir "$d" "$D25.tmp"
  mv "$D25.tmp" "$D25"
  rm -rf "$d"
  finish export_docker25
fi
ROOTFS_BUNDLE="$FIX/rootfs/debian-multi"
if [ ! -d "$ROOTFS_BUNDLE/rootfs/var/lib/dpkg" ]; then
  begin "umoci unpack debian-multi -> $ROOTFS_BUNDLE/rootfs"
  rm -rf "$ROOTFS_BUNDLE" && mkdir -p "$FIX/rootfs"
  umoci unpack --image "$LAYOUT:debian-multi" "$ROOTFS_BUNDLE" >/dev/null
  finish unpack_rootfs
fi

# --- 5. pushes ----------------------------------------------------------------------------------
# PUSHES: variant|repository:tag|source|skopeo options|layer compression
PUSHES=(
  "anonymous|strata/debian-multi:gzip-oci|debian-multi|--format oci|gzip"
  "anonymous|strata/debian-multi:zstd-oci|debian-multi|--format oci --dest-compress-format zstd|zstd"
  "anonymous|strata/debian-multi:gzip-v2s2|debian-multi|--format v2s2|gzip"
  "anonymous|strata/debian-tiny:latest|debian-tiny|--format oci|gzip"
  "anonymous|strata/multiarch:latest|multiarch|--all|gzip"
  "anonymous|strata/small:latest|small-arm64|--format oci|gzip"
  "basic|strata/debian-tiny:latest|debian-tiny|--format oci|gzip"
  "basic|strata/debian-multi:gzip-oci|debian-multi|--format oci|gzip"
  "token|strata/debian-tiny:latest|debian-tiny|--format oci|gzip"
  "token|strata/small:latest|small-arm64|--format oci|gzip"
  "anonymous|strata/coverage:latest|coverage|--format oci|gzip"
)

# Older test code pushed its own repositories under strata/, where the README's
# `strata registry … --repo 'strata/**'` example then found them (one deliberately broken). Tests push
# under strata-test/ now; on a machine whose registry storage outlived that code, the leftovers are
# removed here (repository metadata only: the registry serves its catalog from these folders).
prune_stale_fixture_repos() {
  local variant dir repo keep
  for variant in "${REGISTRY_VARIANTS[@]}"; do
    dir="$REGISTRY_DIR/$variant/storage/docker/registry/v2/repositories/strata"
    [ -d "$dir" ] || continue
    for repo in "$dir"/*/; do
      repo="$(basename "$repo")"
      keep=0
      for push in "${PUSHES[@]}"; do
        IFS='|' read -r v r _ <<<"$push"
        [ "$v" = "$variant" ] && [ "${r%%:*}" = "strata/$repo" ] && keep=1
      done
      [ "$keep" = 1 ] && continue
      log "images: removing stale repository strata/$repo from the $variant registry (pushed by older test code)"
      rm -rf "${dir:?}/$repo"
    done
  done
}
prune_stale_fixture_repos

TOKEN_PID=""
stop_token_server() { if [ -n "$TOKEN_PID" ]; then kill "$TOKEN_PID" 2>/dev/null || true; wait "$TOKEN_PID" 2>/dev/null || true; TOKEN_PID=""; fi; }
trap 'cleanup_mounts; stop_token_server' EXIT
ensure_token_server() {
  curl -fsS -m 2 "http://$HOST:$TOKEN_REALM_PORT/healthz" 2>/dev/null | grep -q strata-test-token-server && return 0
  (cd "$REPO_ROOT" && STRATA_TEST_TOKEN_KEY="$REGISTRY_DIR/token.key" STRATA_TEST_TOKEN_CERT="$REGISTRY_DIR/token.crt" \
    exec node --import tsx libs/oci/src/testing/token-server-main.ts) >>"$LOG_DIR/images-token-server.log" 2>&1 &
  TOKEN_PID=$!
  local i
  for i in $(seq 1 40); do
    curl -fsS -m 2 "http://$HOST:$TOKEN_REALM_PORT/healthz" 2>/dev/null | grep -q strata-test-token-server && return 0
    sleep 0.25
  done
  die "token server did not start (log: $LOG_DIR/images-token-server.log)"
}

# Prints the digest the registry holds for repo:tag, or nothing.
remote_digest() { # remote_digest <variant> <repo> <tag>
  local variant="$1" repo="$2" tag="$3" port auth=() token
  port="$(registry_port "$variant")"
  case "$variant" in
    basic) auth=(-u "$REGISTRY_USER:$REGISTRY_PASSWORD") ;;
    token)
      token="$(curl -fsS -m 10 -u "$REGISTRY_USER:$REGISTRY_PASSWORD" \
        "http://$HOST:$TOKEN_REALM_PORT/token?service=$TOKEN_SERVICE&scope=repository:$repo:pull" | jq -r .token)" || return 0
      auth=(-H "Authorization: Bearer $token")
      ;;
  esac
  curl -fsS -m 10 -I "${auth[@]}" \
    -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json' \
    "http://$HOST:$port/v2/$repo/manifests/$tag" 2>/dev/null | tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" {print $2}' || true
}

if [ "$build_only" = 0 ]; then
  for v in "${REGISTRY_VARIANTS[@]}"; do
    registry_healthy "$v" || die "registry-$v is not healthy at $HOST:$(registry_port "$v"); run infra/local/up.sh first (or pass --build-only)"
  done
  begin "pushes"
  ensure_token_server
  pushed=0
  for p in "${PUSHES[@]}"; do
    IFS='|' read -r variant repotag src opts compression <<<"$p"
    repo="${repotag%:*}" tag="${repotag##*:}"
    port="$(registry_port "$variant")"
    record="$STATE/push-$variant-${repo//\//_}-$tag.digest"
    have="$(remote_digest "$variant" "$repo" "$tag")"
    if [ "$force_push" = 0 ] && [ -s "$record" ] && [ "$have" = "$(cat "$record")" ]; then continue; fi
    log "images: push $src -> $HOST:$port/$repotag ($opts)"
    creds=()
    [ "$variant" = anonymous ] || creds=(--dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD")
    if [ "$compression" = zstd ]; then
      # skopeo 1.9 never recompresses a layer that is already compressed, and its blob-info cache
      # would substitute the gzip blobs it already pushed. So: push from an uncompressed copy, with
      # the blob-info cache hidden behind an empty tmpfs in a private mount namespace.
      plain="$WORK/uncompressed-$src"
      [ -f "$plain/manifest.json" ] || { rm -rf "$plain" && skopeo copy -q --dest-decompress "oci:$LAYOUT:$src" "dir:$plain"; }
      # shellcheck disable=SC2086
      unshare --mount sh -c 'mkdir -p /var/lib/containers/cache && mount -t tmpfs tmpfs /var/lib/containers/cache && exec "$@"' sh \
        skopeo copy -q --dest-tls-verify=false "${creds[@]}" $opts --digestfile "$record.tmp" "dir:$plain" "docker://$HOST:$port/$repotag"
    else
      # shellcheck disable=SC2086
      skopeo copy -q --dest-tls-verify=false "${creds[@]}" $opts --digestfile "$record.tmp" \
        "oci:$LAYOUT:$src" "docker://$HOST:$port/$repotag"
    fi
    mv "$record.tmp" "$record"
    pushed=$((pushed + 1))
  done
  stop_token_server
  if [ "$pushed" -gt 0 ]; then finish pushes; fi
  log "images: $pushed tag(s) pushed"
fi

# --- 6. images.json -----------------------------------------------------------------------------
image_json() { # image_json <layout tag> : config digest, diffIds, created_by of non-empty history
  local m c
  m="$(manifest_of "$1")"
  c="$(config_of "$1")"
  jq -n --slurpfile m "$m" --slurpfile c "$c" --arg md "$(layout_desc "$1" | jq -r .digest)" '
    ($c[0].history | map(select(.empty_layer != true)) | map(.created_by)) as $by |
    { ociManifestDigest: $md, configDigest: $m[0].config.digest,
      platform: {os: $c[0].os, architecture: $c[0].architecture},
      diffIds: $c[0].rootfs.diff_ids,
      layers: [range(0; $m[0].layers | length) as $i | {index: $i, digest: $m[0].layers[$i].digest, diffId: $c[0].rootfs.diff_ids[$i], createdBy: $by[$i]}],
      emptyLayerHistory: ($c[0].history | map(select(.empty_layer == true)) | map(.created_by)) }'
}
refs='[]'
if [ "$build_only" = 0 ]; then
  for p in "${PUSHES[@]}"; do
    IFS='|' read -r variant repotag src opts compression <<<"$p"
    repo="${repotag%:*}" tag="${repotag##*:}"
    record="$STATE/push-$variant-${repo//\//_}-$tag.digest"
    format=oci
    [[ "$opts" == *v2s2* ]] && format=v2s2
    refs="$(jq -c --arg v "$variant" --arg host "$HOST:$(registry_port "$variant")" --arg repo "$repo" --arg tag "$tag" \
      --arg src "$src" --arg format "$format" --arg comp "$compression" --arg d "$(cat "$record")" --argjson all "$([[ "$opts" == *--all* ]] && echo true || echo false)" \
      '. + [{registry: $v, host: $host, repository: $repo, tag: $tag, ref: ($host + "/" + $repo + ":" + $tag), image: $src,
             manifestFormat: $format, layerCompression: $comp, index: $all, manifestDigest: $d}]' <<<"$refs")"
  done
fi
timings='{}'
for f in "$STATE"/timing.*; do
  [ -e "$f" ] || continue
  timings="$(jq -c --arg k "${f##*/timing.}" --argjson v "$(cat "$f")" '. + {($k): $v}' <<<"$timings")"
done
jq -n \
  --arg fix "$FIX" --arg built "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg mirror "$MIRROR" \
  --argjson multi "$(image_json debian-multi)" --argjson tiny "$(image_json debian-tiny)" --argjson small "$(image_json small-arm64)" \
  --argjson coverage "$(image_json coverage)" \
  --argjson multiarch "$(jq -c '.' "$(blob "$(layout_desc multiarch | jq -r .digest)")")" \
  --arg multiarchDigest "$(layout_desc multiarch | jq -r .digest)" \
  --argjson apt "$(printf '%s\n' "${APT_PACKAGES[@]}" | jq -R . | jq -sc .)" \
  --argjson purged "$(printf '%s\n' "${PURGED_PACKAGES[@]}" | jq -R . | jq -sc .)" \
  --argjson refs "$refs" --argjson timings "$timings" \
  --argjson layerNotes "$(jq -c . "$FILES/layers.json")" \
  '{
    schemaVersion: 1,
    builtAt: $built,
    fixturesDir: $fix,
    debianMirror: $mirror,
    images: {
      "debian-multi": ($multi + {
        description: "debootstrap minbase bookworm + apt install + dpkg purge + node app + opaque node_modules + language packages",
        aptInstalled: $apt, dpkgPurged: $purged,
        layerNotes: $layerNotes,
        rootfs: ($fix + "/rootfs/debian-multi/rootfs"),
        ociLayout: {dir: ($fix + "/oci-layout"), tag: "multi", ref: ("oci:" + $fix + "/oci-layout:multi")},
        dockerArchive: {path: ($fix + "/debian-multi.tar"), repoTag: "strata/debian-multi:latest", ref: ("docker-archive:" + $fix + "/debian-multi.tar")}
      }),
      "debian-tiny": ($tiny + {
        description: "the debootstrap base layer (shared with debian-multi) + one small file",
        docker25Archive: {path: ($fix + "/debian-tiny-docker25.tar"), repoTag: "strata/debian-tiny:latest", ref: ("docker-archive:" + $fix + "/debian-tiny-docker25.tar")}
      }),
      coverage: ($coverage + {
        description: "the debootstrap base + one package set per ecosystem from the real registries (infra/local/images/coverage): jars, wheels, node_modules, Go and cargo-auditable binaries, a gem, composer/.NET/conda records",
        ociLayout: {dir: ($fix + "/oci-coverage"), tag: "latest", ref: ("oci:" + $fix + "/oci-coverage:latest")},
        dockerArchive: {path: ($fix + "/coverage.tar"), repoTag: "strata/coverage:latest", ref: ("docker-archive:" + $fix + "/coverage.tar")}
      }),
      "small-arm64": ($small + {
        description: "one-file image labelled linux/arm64 (arm64 entry of the multi-platform index)",
        ociLayout: {dir: ($fix + "/oci-small"), tag: "latest", ref: ("oci:" + $fix + "/oci-small:latest")}
      }),
      multiarch: {
        description: "hand-written OCI index: linux/amd64 = debian-tiny, linux/arm64/v8 = small-arm64",
        indexDigest: $multiarchDigest,
        platforms: [$multiarch.manifests[] | {platform, manifestDigest: .digest}],
        ociLayout: {dir: ($fix + "/oci-layout"), tag: "index", ref: ("oci:" + $fix + "/oci-layout:index")}
      }
    },
    refs: $refs,
    timings: $timings
  }' >"$FIX/images.json.tmp"
mv "$FIX/images.json.tmp" "$FIX/images.json"
log "images: wrote $FIX/images.json"

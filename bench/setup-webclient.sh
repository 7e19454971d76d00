#!/usr/bin/env bash
# Idempotent set-up of the web-SDK harness (bench/webclient): Debian chromium + npm ci.
set -euo pipefail
cd "$(dirname "$0")/webclient"
say() { printf '\033[1m[setup-webclient]\033[0m %s\n' "$*" >&2; }
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else say "need root for: $*"; return 1; fi
}
if [ ! -x /usr/bin/chromium ]; then
  say "installing Debian chromium"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
  || { say "ERROR: Node.js 20+ with npm is needed"; exit 1; }
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || { say "ERROR: Node.js 20+ is needed (found $(node --version))"; exit 1; }
# npm ci only when package-lock.json changed since the last successful install (the stamp is
# named after its digest; npm ci replaces node_modules, old stamps included).
stamp="node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  say "npm ci in bench/webclient"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
say "ready: $(/usr/bin/chromium --version 2>/dev/null), node $(node --version)"

#!/usr/bin/env bash
# Idempotent set-up from nothing: Debian packages, the .venv, and livekit-server.
# Fast when everything is already in place; safe to run again at any time.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins espeak-ng sox tmux
              iproute2 nftables procps curl librsvg2-bin)
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else say "need root for: $*"; return 1; fi
}

# 1. Debian packages (only the missing ones; apt-get update once, only if needed).
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "WARNING: no apt-get; install these yourself: ${missing[*]}"
  fi
fi

# 2. The virtualenv, reinstalled only when pyproject.toml changes.
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  say "installing convai-tui (editable) with its test extra into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# 3. livekit-server, the same way an installed convai-tui gets it: `convai-tui setup` finds it
#    ($LIVEKIT_SERVER_BIN, the per-user cache keyed by version, PATH) or builds the pinned
#    release into the cache with `go install`. It prints the binary's path on stdout (nothing
#    when there is no binary but an external LiveKit is configured through LIVEKIT_URL etc.).
mkdir -p .tools
lk="$(.venv/bin/convai-tui setup)"
[ -z "$lk" ] || ln -sf "$lk" .tools/livekit-server
# 4. Convai's web SDK in headless Chromium, for the conformance test (tests/integration/test_web_sdk.py).
bench/setup-webclient.sh || { [ -z "${CI:-}" ] || exit 1; say "WARNING: web-SDK harness not set up (node/npm/chromium); tests/integration/test_web_sdk.py will skip"; }
if [ -n "$lk" ]; then say "ready: livekit-server $("$lk" --version 2>/dev/null | awk '{print $NF}') at $lk"
else say "ready: the stand-in will use the external LiveKit at $LIVEKIT_URL"; fi

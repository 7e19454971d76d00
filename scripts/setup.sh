#!/usr/bin/env bash
# Idempotent set-up from nothing; fast when everything is already in place, safe to run again.
#   scripts/setup.sh          what `make demo` needs: Debian audio/voice packages, the .venv with
#                             the package, and livekit-server
#   scripts/setup.sh --test   that, plus what `make test` needs: the test tools in the .venv, the
#                             packages the suite drives (PulseAudio, sox, tmux, nftables, ...) and
#                             the web-SDK harness (Chromium, npm ci)
# SETUP_PLAN=1 prints each step that would change something instead of running it.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TEST=0
[ "${1:-}" = "--test" ] && WITH_TEST=1
APT_DEMO=(libportaudio2 libasound2-plugins espeak-ng)
APT_TEST=(pulseaudio pulseaudio-utils sox tmux iproute2 nftables procps curl librsvg2-bin)
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
step() { if [ -n "${SETUP_PLAN:-}" ]; then say "plan: $*"; else "$@"; fi; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else say "need root for: $*"; return 1; fi
}

# 1. Debian packages (only the missing ones; apt-get update once, only if needed).
wanted=("${APT_DEMO[@]}")
[ "$WITH_TEST" = 1 ] && wanted+=("${APT_TEST[@]}")
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages: ${missing[*]}"
    step as_root apt-get update -qq
    step as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    say "WARNING: no apt-get; install these yourself: ${missing[*]}"
  fi
fi

# 2. The virtualenv, reinstalled only when pyproject.toml changes (one stamp per extra set).
digest="$(sha256sum pyproject.toml | cut -c1-16)"
install_into_venv() {  # $1: stamp name, $2: pip target
  local stamp=".venv/.installed-$1-$digest"
  [ -f "$stamp" ] && return 0
  [ -x .venv/bin/python ] || step "$PYTHON" -m venv .venv
  say "installing convai-tui (editable${3:-}) into .venv"
  step .venv/bin/python -m pip install -q --upgrade pip
  step .venv/bin/python -m pip install -q -e "$2"
  [ -n "${SETUP_PLAN:-}" ] || { rm -f ".venv/.installed-$1-"*; touch "$stamp"; }
}
install_into_venv base "."
[ "$WITH_TEST" = 1 ] && install_into_venv test ".[test]" " with its test extra"

# 3. livekit-server, the same way an installed convai-tui gets it: `convai-tui setup` finds it
#    ($LIVEKIT_SERVER_BIN, the per-user cache keyed by version, PATH) or builds the pinned
#    release into the cache with `go install`. It prints the binary's path on stdout (nothing
#    when there is no binary but an external LiveKit is configured through LIVEKIT_URL etc.).
mkdir -p .tools
if [ -n "${SETUP_PLAN:-}" ]; then
  say "plan: .venv/bin/convai-tui setup"
  lk=""
else
  lk="$(.venv/bin/convai-tui setup)"
  [ -z "$lk" ] || ln -sf "$lk" .tools/livekit-server
fi

# 4. (--test) Convai's web SDK in headless Chromium, for the conformance test
#    (tests/integration/test_web_sdk.py).
if [ "$WITH_TEST" = 1 ]; then
  step bench/setup-webclient.sh || { [ -z "${CI:-}" ] || exit 1; say "WARNING: web-SDK harness not set up (node/npm/chromium); tests/integration/test_web_sdk.py will skip"; }
fi
[ -z "${SETUP_PLAN:-}" ] || exit 0
if [ -n "$lk" ]; then say "ready: livekit-server $("$lk" --version 2>/dev/null | awk '{print $NF}') at $lk"
else say "ready: the stand-in will use the external LiveKit at $LIVEKIT_URL"; fi

"""Conformance: Convai's own web client (npm @convai/web-sdk 1.2.0 + livekit-client 2.23.0) in
headless Debian Chromium reaches bot-ready and gets the reply to a text message from our stand-in.
The SDK joins relay-only (iceTransportPolicy "relay"), so this also proves the stand-in's embedded
TURN relays to its loopback SFU (see docs/BENCHMARKS.md, 'web SDK'). The SDK sends no
client-ready; the stand-in runs with no bot-ready grace, so the bot-ready it gets can only be the
one the strict profile sends at once to a room its /connect body shows the web SDK started (as
Convai's service answers that SDK), never a grace timer's.

Set-up: bench/setup-webclient.sh (chromium + npm ci in bench/webclient). In CI a missing
chromium or node is a failure; locally it is a loud skip."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.standin_client import require_livekit_server

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "bench" / "webclient"
STANDIN = [sys.executable, "-m", "convai_tui", "local-server", "--port", "0"]


def _lock_digest() -> str:
    """The stamp bench/setup-webclient.sh leaves after `npm ci` of this package-lock.json."""
    return hashlib.sha256((HARNESS / "package-lock.json").read_bytes()).hexdigest()[:16]


def _require_harness() -> None:
    problems = []
    if not Path("/usr/bin/chromium").exists():
        problems.append("/usr/bin/chromium missing")
    if shutil.which("node") is None:
        problems.append("node missing")
    if not (HARNESS / "node_modules" / "@convai" / "web-sdk").exists():
        problems.append("bench/webclient/node_modules missing")
    elif not (HARNESS / "node_modules" / f".installed-{_lock_digest()}").exists():
        problems.append("bench/webclient/node_modules older than package-lock.json")
    if problems:
        message = "; ".join(problems) + " — run bench/setup-webclient.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_web_sdk_reaches_bot_ready_and_gets_a_text_reply(tmp_path: Path) -> None:
    require_livekit_server()
    _require_harness()
    env = {
        **os.environ,
        "CONVAI_CONFIG": str(tmp_path / "none.toml"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    server = subprocess.Popen(
        [*STANDIN, "--tts", "none", "--bot-ready-grace", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert server.stdout is not None
        details = server.stdout.readline()
        done = subprocess.run(
            ["node", str(HARNESS / "run.mjs"), "conformance", "--details", details.strip()],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        lines = done.stdout.strip().splitlines()
        result: dict[str, Any] = json.loads(lines[-1]) if lines else {"ok": False}
        assert done.returncode == 0 and result.get("ok"), (result, done.stderr[-2000:])
        assert result["text_turn"]["reply"]
        # The media path is the one Convai's client forces: our TURN relay → the SFU's host
        # candidate, both on loopback.
        ice = result["connect"]["ice"]
        assert ice.get("local_type") == "relay", ice
        assert ice["remote_type"] == "host" and ice["remote_address"] == "127.0.0.1", ice
    finally:
        server.terminate()
        server.wait(timeout=20)

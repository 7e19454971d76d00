"""The API key and LiveKit tokens never appear in any output or file a session writes, even at
debug level, with a recognisable key on both sides."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.standin_client import require_livekit_server

pytestmark = pytest.mark.integration
CLI = [sys.executable, "-m", "convai_tui"]
KEY = "sk-TESTSECRET-7f3a9c1e5b2d4680"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")


def test_key_and_tokens_never_leak(tmp_path: Path) -> None:
    require_livekit_server()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVAI_")}
    env.update(
        CONVAI_CONFIG=str(tmp_path / "none.toml"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")),
    )
    server = subprocess.Popen(
        [
            *CLI,
            "local-server",
            "--port",
            "0",
            "--api-key",
            KEY,
            "--tts",
            "none",
            "--log-level",
            "debug",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        details = json.loads(server.stdout.readline())
        assert details["api_key"] == KEY  # the one place the key is meant to be printed
        client = subprocess.run(
            [
                *CLI,
                "run",
                "--headless",
                "--json",
                "--log-level",
                "debug",
                "--api-key",
                KEY,
                "--connect-url",
                details["connect_url"],
                "--character-id",
                details["character_id"],
                "--say",
                "tell me a secret",
                "--exit-after-reply",
            ],
            capture_output=True,
            text=True,
            timeout=90,
            env=env,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        _, server_err = server.communicate(timeout=20)
    assert client.returncode == 0, client.stderr[-3000:]
    assert "room_details" in client.stdout and "Room details" in client.stderr
    written = [p for p in (tmp_path / "state").rglob("*") if p.is_file()]
    logs = [p for p in written if p.suffix == ".jsonl"]
    assert logs, "the session log must exist"
    outputs = {
        "client stdout": client.stdout,
        "client stderr": client.stderr,
        "server stderr": server_err,
    }
    outputs.update({str(p): p.read_text(errors="replace") for p in written})
    for name, text in outputs.items():
        assert KEY not in text, f"the API key leaked into {name}"
        leaked = JWT.findall(text)
        assert not leaked, f"a full token leaked into {name}: {leaked[0][:20]}…"

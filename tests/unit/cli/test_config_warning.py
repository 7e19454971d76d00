"""A config file holding the API key that other users can read earns a warning the user sees on
stderr (never on the headless JSON stdout), for `run` and `config show`; a 0600 file does not."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "convai_tui"]


def _config(tmp_path: Path, mode: int) -> tuple[Path, dict[str, str]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    path = tmp_path / "config.toml"
    # No character id: `run` stops at config.character_id_missing, before any network traffic.
    path.write_text(
        f'api_key = "sk-loose-key-123456"\nconnect_url = "http://127.0.0.1:{closed_port}"\n'
    )
    os.chmod(path, mode)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVAI_")}
    env.update(CONVAI_CONFIG=str(path), XDG_STATE_HOME=str(tmp_path / "state"))
    return path, env


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_loose_config_warns_on_stderr(tmp_path: Path, mode: int) -> None:
    path, env = _config(tmp_path, mode)
    shown = subprocess.run(
        [*CLI, "config", "show"], capture_output=True, text=True, env=env, timeout=60
    )
    assert shown.returncode == 0
    assert f"{path} holds an API key and is readable by other users" in shown.stderr
    assert f"chmod 600 {path}" in shown.stderr
    assert "sk-loose-key-123456" not in shown.stdout + shown.stderr

    run = subprocess.run(
        [*CLI, "run", "--headless", "--json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert run.returncode == 1
    assert f"chmod 600 {path}" in run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]  # pure JSON lines
    assert [e["code"] for e in events if e["type"] == "error"] == ["config.character_id_missing"]


def test_private_config_is_quiet(tmp_path: Path) -> None:
    _, env = _config(tmp_path, 0o600)
    shown = subprocess.run(
        [*CLI, "config", "show"], capture_output=True, text=True, env=env, timeout=60
    )
    assert shown.returncode == 0 and "readable by other users" not in shown.stderr

"""`config init` checks the answers with one real /connect + /disconnect against the stand-in:
a good key is written (0600) and its session released; a wrong one is refused, nothing written."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.standin_client import require_livekit_server

pytestmark = pytest.mark.integration
CLI = [sys.executable, "-m", "convai_tui"]


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    require_livekit_server()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVAI_")}
    env["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    process = subprocess.Popen(
        [*CLI, "local-server", "--port", "0", "--tts", "none"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, "the stand-in printed nothing"
    try:
        yield json.loads(line)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        process.stdout.close()


def _init(path: Path, standin: dict[str, str], key: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVAI_")}
    env["CONVAI_CONFIG"] = str(path)
    return subprocess.run(
        [*CLI, "config", "init", "--connect-url", standin["connect_url"]],
        input=f"{key}\n{standin['character_id']}\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def _active_sessions(standin: dict[str, str]) -> int:
    with urllib.request.urlopen(f"{standin['connect_url']}/_standin/stats", timeout=10) as r:
        return len(json.loads(r.read())["active_sessions"])


def test_init_checks_a_good_key_and_releases_the_session(
    standin: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    result = _init(path, standin, standin["api_key"])
    assert result.returncode == 0, result.stderr
    assert "checked: /connect answered" in result.stdout
    assert "Session released with POST /disconnect." in result.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    deadline = time.monotonic() + 10
    while _active_sessions(standin):
        assert time.monotonic() < deadline, "the check's session was not released"
        time.sleep(0.1)


def test_init_refuses_a_key_the_service_rejects(standin: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    result = _init(path, standin, "not-the-key")
    assert result.returncode == 1
    assert "check failed: connection.connect_invalid_api_key" in result.stderr
    assert "not-the-key" not in result.stdout + result.stderr
    assert not path.exists()

"""``python -m convai_tui.local`` (the ``local-server`` subcommand) as a process."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from standin_client import require_livekit_server

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


def _start(*extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-m", "convai_tui.local", "--port", "0", "--tts", "none", *extra],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _read_line(process: subprocess.Popen[str], within: float = 30.0) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], within)
    if not ready:
        process.kill()
        raise AssertionError("local-server printed nothing")
    return process.stdout.readline()


def _children(pid: int) -> list[int]:
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat_file.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return ") Z " not in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_local_server_prints_one_json_line_and_stops_cleanly(stop_signal: int) -> None:
    require_livekit_server()
    process = _start("--api-key", "k-test")
    try:
        line = _read_line(process)
        ready = json.loads(line)
        assert set(ready) == {"connect_url", "api_key", "character_id", "livekit_url"}
        assert ready["api_key"] == "k-test"
        assert ready["character_id"] == "demo-character"
        assert ready["connect_url"].startswith("http://127.0.0.1:")
        assert ready["livekit_url"].startswith("ws://127.0.0.1:")
        livekit_pids = _children(process.pid)
        assert livekit_pids, "expected a livekit-server child"
        # A /connect: its token must not end up in the log.
        request = urllib.request.Request(
            ready["connect_url"] + "/connect", method="POST",
            data=json.dumps({"character_id": "demo-character"}).encode(),
            headers={"X-API-Key": "k-test", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            token = json.loads(response.read())["token"]
    finally:
        process.send_signal(stop_signal)
        try:
            stdout, stderr = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, stderr
    assert stdout == "", "exactly one line on stdout"
    assert "Traceback" not in stderr
    assert token not in stderr
    for pid in livekit_pids:
        assert not _alive(pid), f"livekit-server {pid} left behind"


def test_local_server_reports_a_busy_port() -> None:
    require_livekit_server()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "convai_tui.local", "--port", str(port)],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
    assert time.monotonic() - started < 20


def test_local_server_without_livekit_fails_clearly(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PATH": str(tmp_path),
           "LIVEKIT_SERVER_BIN": str(tmp_path / "missing"), "XDG_CACHE_HOME": str(tmp_path)}
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-m", "convai_tui.local", "--port", "0"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "LIVEKIT_SERVER_BIN" in result.stderr and "Traceback" not in result.stderr

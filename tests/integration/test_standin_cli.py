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

from tests.integration.standin_client import require_livekit_server

pytestmark = [pytest.mark.integration, pytest.mark.serial]

REPO_ROOT = Path(__file__).resolve().parents[2]


def _start(*extra: str, tmpdir: Path | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-m", "convai_tui.local", "--port", "0", "--tts", "none", *extra],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
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
            ready["connect_url"] + "/connect",
            method="POST",
            data=json.dumps({"character_id": "demo-character"}).encode(),
            headers={"X-API-Key": "k-test", "Content-Type": "application/json"},
        )
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


def test_local_server_exits_with_a_named_error_when_its_livekit_server_dies(tmp_path: Path) -> None:
    require_livekit_server()
    process = _start(tmpdir=tmp_path)
    try:
        ready = json.loads(_read_line(process))
        [first] = _children(process.pid)
        # Exits the stand-in causes itself are not deaths: restarts and a pause.
        for action in ("crash-restart", "restart", "pause", "resume"):
            request = urllib.request.Request(
                f"{ready['connect_url']}/_standin/livekit/{action}", method="POST", data=b"{}"
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200, action
            if action == "pause":
                time.sleep(1.5)  # three of the stand-in's checks
        time.sleep(1.5)
        assert process.poll() is None, process.communicate()[1]
        [livekit] = _children(process.pid)
        assert livekit != first
        assert list(tmp_path.glob("convai-standin-lk-*")), "expected the child's temp dir here"
        os.kill(livekit, signal.SIGKILL)
        killed_at = time.monotonic()
        stdout, stderr = process.communicate(timeout=30)
        exited_after = time.monotonic() - killed_at
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 3, stderr
    assert exited_after < 10, exited_after  # noticed within ~0.5 s, then a bounded shutdown
    assert f"livekit_server_died: livekit-server (pid {livekit}) was killed by SIGKILL" in stderr
    assert "Traceback" not in stderr
    assert stdout == ""
    assert not _alive(livekit)
    assert not list(tmp_path.iterdir()), "temp dir (config with the secret) left behind"


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
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
    assert time.monotonic() - started < 20


def test_local_server_without_livekit_fails_clearly(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "PATH": str(tmp_path),
        "LIVEKIT_SERVER_BIN": str(tmp_path / "missing"),
        "XDG_CACHE_HOME": str(tmp_path),
    }
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-m", "convai_tui.local", "--port", "0"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "LIVEKIT_SERVER_BIN" in result.stderr and "Traceback" not in result.stderr

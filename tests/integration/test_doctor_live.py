"""`convai-tui doctor`, `run --snapshot` and transport debug logging, as processes against
`convai-tui local-server` on a real livekit-server."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.standin_client import require_livekit_server

pytestmark = pytest.mark.integration
CLI = [sys.executable, "-m", "convai_tui"]
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}")


@dataclass
class Server:
    connect_url: str
    api_key: str
    character_id: str
    env: dict[str, str]

    def post(
        self, path: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> Any:
        request = urllib.request.Request(
            f"{self.connect_url}{path}",
            data=json.dumps(body or {}).encode(),
            method="POST",
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.connect_url}/_standin/stats", timeout=10) as r:
            return dict(json.loads(r.read()))

    def session_flags(self) -> list[str]:
        return [
            "--connect-url",
            self.connect_url,
            "--api-key",
            self.api_key,
            "--character-id",
            self.character_id,
        ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_livekit_server()
    tmp = tmp_path_factory.mktemp("doctor")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVAI_")}
    env["CONVAI_CONFIG"] = str(tmp / "no-config.toml")
    env["XDG_STATE_HOME"] = str(tmp / "state")
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
    details = json.loads(line)
    yield Server(details["connect_url"], details["api_key"], details["character_id"], env)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)


def cli(server: Server, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        env=server.env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def wait_no_active_sessions(server: Server, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while server.stats()["active_sessions"]:
        assert time.monotonic() < deadline, server.stats()["active_sessions"]
        time.sleep(0.1)


def test_doctor_json_all_ok_against_the_stand_in(server: Server) -> None:
    result = cli(server, "doctor", "--json", *server.session_flags())
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    checks = report["checks"]
    assert len(checks) >= 5
    assert all(set(c) == {"name", "ok", "detail", "fix"} for c in checks)
    assert all(c["ok"] for c in checks), checks
    names = [c["name"] for c in checks]
    for name in (
        "connect.dns",
        "connect.tcp",
        "connect.tls",
        "connect.api",
        "livekit.signal",
        "livekit.webrtc",
        "audio.input",
        "audio.output",
    ):
        assert name in names
    by_name = {c["name"]: c for c in checks}
    assert "plain http on loopback" in by_name["connect.tls"]["detail"]
    assert "released with POST /disconnect" in by_name["connect.api"]["detail"]
    assert re.search(r"ICE uses (udp|tcp|relay)", by_name["livekit.webrtc"]["detail"])
    assert not JWT.search(result.stdout) and server.api_key not in result.stdout
    wait_no_active_sessions(server)


def test_doctor_against_a_closed_port_fails_the_connect_check(server: Server) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = cli(
        server,
        "doctor",
        "--json",
        "--connect-url",
        f"http://127.0.0.1:{port}",
        "--api-key",
        server.api_key,
        "--character-id",
        server.character_id,
    )
    assert result.returncode != 0
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["connect.api"]["ok"] is False
    assert checks["connect.api"]["detail"].startswith("connection.network_error")
    assert checks["connect.api"]["fix"]
    assert checks["connect.tcp"]["ok"] is False


def test_doctor_livekit_connection_test_only(server: Server) -> None:
    room = server.post(
        "/connect", {"character_id": server.character_id}, {"X-API-Key": server.api_key}
    )
    try:
        result = cli(
            server, "doctor", "--json", "--livekit-url", room["room_url"], "--token", room["token"]
        )
    finally:
        server.post(f"/disconnect?session_id={room['session_id']}")
    assert result.returncode == 0, result.stdout + result.stderr
    checks = json.loads(result.stdout)["checks"]
    assert [c["name"] for c in checks] == ["livekit.signal", "livekit.webrtc"]
    assert all(c["ok"] for c in checks)
    assert room["token"] not in result.stdout


def test_doctor_human_output(server: Server) -> None:
    result = cli(server, "doctor", *server.session_flags())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checks passed" in result.stdout and "FAIL" not in result.stdout


def test_transport_debug_logs_room_details_with_the_token_redacted(
    server: Server, tmp_path: Path
) -> None:
    snapshot = tmp_path / "snap.json"
    result = cli(
        server,
        "run",
        "--headless",
        "--json",
        *server.session_flags(),
        "--say",
        "hello",
        "--exit-after-reply",
        "--log-level",
        "transport=debug",
        "--snapshot",
        str(snapshot),
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    room = next(e for e in events if e["type"] == "room_details")
    lines = [line for line in result.stderr.splitlines() if "Room details received" in line]
    assert len(lines) == 1 and "convai_tui.transport" in lines[0]
    for key in ("room_url", "room_name", "session_id", "character_session_id"):
        assert str(room[key]) in lines[0], key
    assert '"token": "eyJ…[redacted]"' in lines[0]
    assert any(
        line.split(": ", 1)[-1].startswith("Token: eyJ…[redacted]")
        for line in result.stderr.splitlines()
    )
    assert not JWT.search(result.stderr) and server.api_key not in result.stderr

    text = snapshot.read_text()
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600
    assert not JWT.search(text) and server.api_key not in text
    data = json.loads(text)
    assert data["RoomDiagnosticsSnapshot"]["TotalConnectionAttempts"] == 1
    assert data["RoomDiagnosticsSnapshot"]["SuccessfulConnections"] == 1
    assert data["room"]["session_id"] == room["session_id"]


def test_default_log_level_hides_the_room_details(server: Server) -> None:
    result = cli(server, "run", "--headless", *server.session_flags(), "--duration", "0.5")
    assert result.returncode == 0, result.stderr
    assert "Room details received" not in result.stderr

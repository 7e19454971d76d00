"""The acceptance contract, exactly as a user runs it: `convai-tui local-server` and
`convai-tui run --headless --json`, as processes, over real HTTP and a real livekit-server."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
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

pytestmark = [pytest.mark.integration, pytest.mark.serial]
CLI = [sys.executable, "-m", "convai_tui"]


@dataclass
class Server:
    process: subprocess.Popen[str]
    connect_url: str
    api_key: str
    character_id: str

    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.connect_url}/_standin/{path}",
            data=data,
            method="POST" if data is not None else "GET",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def requests(self) -> list[dict[str, Any]]:
        return list(self.admin("stats")["connect_requests"])


def clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVAI_")}
    env["CONVAI_CONFIG"] = str(tmp / "no-config.toml")
    env["XDG_STATE_HOME"] = str(tmp / "state")
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_livekit_server()
    tmp = tmp_path_factory.mktemp("local-server")
    process = subprocess.Popen(
        [*CLI, "local-server", "--port", "0", "--tts", "none"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(tmp),
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, process.stderr.read() if process.stderr else "no output"
    details = json.loads(line)
    assert set(details) == {"connect_url", "api_key", "character_id", "livekit_url"}
    yield Server(process, details["connect_url"], details["api_key"], details["character_id"])
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    assert process.stdout.read() == ""  # still exactly one line on stdout


@dataclass
class Run:
    code: int
    events: list[dict[str, Any]]
    stderr: str

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]


def run(
    server: Server, tmp_path: Path, *args: str, key: str | None = "default", timeout: float = 90
) -> Run:
    env = clean_env(tmp_path)
    cmd = [
        *CLI,
        "run",
        "--headless",
        "--json",
        "--connect-url",
        server.connect_url,
        "--character-id",
        server.character_id,
        *args,
    ]
    if key is not None:
        cmd += ["--api-key", server.api_key if key == "default" else key]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    events = []
    for line in result.stdout.splitlines():
        event = json.loads(line)  # stdout carries JSON objects and nothing else
        assert isinstance(event.get("type"), str) and isinstance(event.get("ts"), float)
        events.append(event)
    return Run(result.returncode, events, result.stderr)


def test_say_hello_exit_after_reply(server: Server, tmp_path: Path) -> None:
    result = run(server, tmp_path, "--say", "hello", "--exit-after-reply")
    assert result.code == 0, result.stderr
    states = [e["new"] for e in result.of("state_changed")]
    assert states == ["connecting", "connected", "disconnecting", "disconnected"]
    assert len(result.of("bot_ready")) == 1
    finals = [e for e in result.of("transcript") if e["role"] == "character" and e["final"]]
    assert len(finals) == 1 and '"hello"' in finals[0]["text"]
    assert result.of("server_response")[0]["status"] == "success"
    # --exit-after-reply ends the server's session with kill-pipeline (README), acked
    kills = [e for e in result.of("message_sent") if e["message_type"] == "kill-pipeline"]
    assert len(kills) == 1
    acks = [e for e in result.of("server_response") if e["message_id"] == kills[0]["message_id"]]
    assert [a["status"] for a in acks] == ["success"]
    kinds = {e["kind"] for e in result.of("participant_joined")}
    assert kinds == {"local_player", "character"}
    logs = list((tmp_path / "state" / "convai-tui" / "sessions").glob("*.jsonl"))
    assert len(logs) == 1
    lines = [json.loads(line) for line in logs[0].read_text().splitlines()]
    assert lines[0]["type"] == "session_info"  # names the character for replay
    assert lines[0]["character_id"] == server.character_id
    assert [line["type"] for line in lines[1:]] == [e["type"] for e in result.events]


def test_missing_api_key_fails_before_any_request(server: Server, tmp_path: Path) -> None:
    before = len(server.requests())
    result = run(server, tmp_path, key=None)
    assert result.code == 1
    assert [e["code"] for e in result.of("error")] == ["config.api_key_missing"]
    assert result.of("error")[0]["stage"] == "Configuration"
    assert len(server.requests()) == before


NON_RETRYABLE = [
    (401, None, "connection.connect_invalid_api_key"),
    (403, None, "connection.connect_realtime_not_allowed"),
    (403, "multi_character_v0_disabled", "connection.connect_multi_character_not_allowed"),
    (
        403,
        "multi_character_roster_limit_exceeded",
        "connection.connect_multi_character_roster_limit",
    ),
    (404, None, "connection.connect_character_not_found"),
    (422, None, "connection.connect_validation_error"),
    (400, "Invalid character_session_id: invalid uuid", "connection.connect_invalid_session_id"),
    (400, "bad value", "connection.bad_request"),
    (429, "LTM speaker limit reached", "connection.connect_speaker_limit_reached"),
    (409, None, "connection.bad_request"),
]


@pytest.mark.parametrize(("status", "detail", "code"), NON_RETRYABLE)
def test_non_retryable_connect_failures_use_one_request(
    server: Server, tmp_path: Path, status: int, detail: str | None, code: str
) -> None:
    server.admin(
        "faults", {"connect_status": status, "connect_detail": detail, "connect_fault_count": 0}
    )
    try:
        before = len(server.requests())
        result = run(server, tmp_path, "--no-waiting-room")
    finally:
        server.admin("faults", {"connect_status": None, "connect_detail": None})
    assert result.code == 1
    assert len(server.requests()) - before == 1
    errors = result.of("error")
    assert [e["code"] for e in errors] == [code]
    assert errors[0]["recoverable"] is False and errors[0]["http_status"] == status
    assert errors[0]["stage"] == "ConnectApi"
    assert not result.of("reconnect_scheduled")
    assert result.of("state_changed")[-1]["new"] == "error"


def test_ok_without_token_is_connection_failed(server: Server, tmp_path: Path) -> None:
    server.admin("faults", {"connect_no_token": True})
    try:
        before = len(server.requests())
        result = run(server, tmp_path)
    finally:
        server.admin("faults", {"connect_no_token": False})
    assert result.code == 1 and len(server.requests()) - before == 1
    assert [e["code"] for e in result.of("error")] == ["connection.failed"]


RETRYABLE = [
    ({"connect_status": 503}, "connection.service_unavailable"),
    (
        {"connect_status": 500, "connect_detail": "Failed to start bot"},
        "connection.connect_bot_start_failed",
    ),
    ({"connect_status": 500}, "connection.connect_unhandled_server_exception"),
    ({"connect_status": 502}, "connection.server_error"),
    ({"connect_status": 429}, "connection.connect_concurrency_limit_reached"),
]


def assert_retry_schedule(times: list[float], slack: float = 0.6) -> None:
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 3
    for gap, expected in zip(gaps, (1.0, 2.0, 4.0), strict=True):
        assert expected - 0.05 <= gap <= expected + slack, gaps


@pytest.mark.parametrize(("faults", "code"), RETRYABLE)
def test_retryable_connect_failures_use_four_requests_at_0_1_2_4(
    server: Server, tmp_path: Path, faults: dict[str, Any], code: str
) -> None:
    server.admin("faults", {**faults, "connect_fault_count": 0})
    try:
        before = len(server.requests())
        result = run(server, tmp_path, "--no-waiting-room")
    finally:
        server.admin("faults", {"connect_status": None, "connect_detail": None})
    requests = server.requests()[before:]
    assert result.code == 1
    assert len(requests) == 4
    assert_retry_schedule([r["at"] for r in requests])
    assert {e["code"] for e in result.of("error")} == {code}
    assert all(e["recoverable"] for e in result.of("error"))
    assert [e["delay_s"] for e in result.of("reconnect_scheduled")] == [1.0, 2.0, 4.0]
    assert [e["attempt"] for e in result.of("connect_attempt")] == [1, 2, 3, 4]


def test_timeout_is_retried_four_times(server: Server, tmp_path: Path) -> None:
    server.admin("faults", {"connect_hang": True})
    try:
        before = len(server.requests())
        started = time.monotonic()
        result = run(server, tmp_path, "--connection-timeout", "1")
        elapsed = time.monotonic() - started
    finally:
        server.admin("faults", {"connect_hang": False})
    assert result.code == 1
    assert len(server.requests()) - before == 4
    assert {e["code"] for e in result.of("error")} == {"connection.timeout"}
    assert 4 * 1 + 7 - 0.5 <= elapsed <= 4 * 1 + 7 + 8


def test_refused_connection_is_a_retried_network_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    fake = Server(None, f"http://127.0.0.1:{closed_port}", "k" * 12, "c")  # type: ignore[arg-type]
    started = time.monotonic()
    result = run(fake, tmp_path)
    elapsed = time.monotonic() - started
    assert result.code == 1
    errors = result.of("error")
    assert [e["code"] for e in errors] == ["connection.network_error"] * 4
    assert 7 - 0.1 <= elapsed <= 7 + 8


def test_waiting_room_holds_until_a_slot_frees(server: Server, tmp_path: Path) -> None:
    # Four refusals use up the four connect attempts; the waiting room holds on to a fifth.
    server.admin("faults", {"connect_status": 429, "connect_fault_count": 4})
    try:
        before = len(server.requests())
        result = run(server, tmp_path, "--say", "let me in", "--exit-after-reply")
    finally:
        server.admin("faults", {"connect_status": None})
    assert result.code == 0, result.stderr
    assert len(server.requests()) - before == 5
    phases = {e["phase"] for e in result.of("reconnect_scheduled")}
    assert phases == {"waiting_room"}
    assert "error" not in [e["new"] for e in result.of("state_changed")]


def test_character_name_from_the_rest_route(server: Server) -> None:
    import asyncio

    from convai_tui.core.connect.rest_api import fetch_character_name

    name = asyncio.run(
        fetch_character_name(server.connect_url, server.api_key, server.character_id)
    )
    assert name == "Ada"
    assert (
        asyncio.run(fetch_character_name(server.connect_url, "wrong-key-123", server.character_id))
        is None
    )


def test_a_run_whose_only_say_was_refused_exits_non_zero_and_says_why(
    server: Server, tmp_path: Path
) -> None:
    result = run(server, tmp_path, "--say", "x" * 20_000, "--exit-after-reply")
    assert result.code == 1
    (error,) = result.of("error")
    assert error["code"] == "protocol.message_too_large"
    assert error["fix"] and error["verify"]
    lines = [line for line in result.stderr.splitlines() if line.startswith("convai-tui: ")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("convai-tui: protocol.message_too_large: ")
    assert lines[0].endswith(f"Fix: {error['fix']}")
    assert result.of("session_ended")[-1]["reason"] == "exit_after_reply"

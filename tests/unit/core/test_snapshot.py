"""Diagnostics snapshots: Unity's field names, our metrics, and no secrets."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from convai_tui.core.api.snapshot import build_snapshot, default_snapshot_path, write_snapshot
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.session_settings import SessionSettings

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzbmFwc2hvdCJ9.c25hcHNob3Qtc2lnbmF0dXJl"
API_KEY = "snapshot-test-api-key-0123456789"
T0 = 1_700_000_000.0

ROOM_DIAGNOSTICS_FIELDS = {
    "TotalConnectionAttempts",
    "SuccessfulConnections",
    "FailedConnections",
    "TotalErrors",
    "LastConnectedAt",
    "LastErrorAt",
    "LastErrorCode",
    "LastErrorMessage",
    "SessionUptime",
    "RegisteredCharacterCount",
    "RegisteredPlayerCount",
}
ROOM_MANAGER_FIELDS = {
    "CurrentState",
    "IsConnected",
    "ConnectAttemptCount",
    "ReconnectCount",
    "LastSessionErrorCode",
    "LastSessionErrorMessage",
}


def diagnostics() -> dict[str, Any]:
    return {
        "connect_attempts": 3,
        "successful_connections": 1,
        "failed_connections": 2,
        "reconnects": 1,
        "errors": 2,
        "errors_by_category": {"connection": 2},
        "last_connected_at": T0,
        "last_error_at": T0 - 5,
        "last_error_code": "connection.timeout",
        "last_error_message": "slow",
        "uptime_s": 12.5,
        "messages_sent": 4,
        "latency": {"join_ms": 40.0},
        "state": "connected",
        "bot_ready": True,
        "room": {
            "room_url": "wss://lk.example",
            "room_name": "room",
            "session_id": "s-1",
            "character_session_id": "cs-1",
            "token_redacted": "eyJ…[redacted]",
            "token": TOKEN,
        },
        "participants": [
            {"identity": "me", "kind": "local_player"},
            {"identity": "char", "kind": "character"},
            {"identity": "friend", "kind": "remote_player", "api_key": API_KEY},
        ],
        "connect_url": f"https://live.convai.com/?api_key={API_KEY}",
    }


def test_snapshot_has_unity_fields_and_metrics() -> None:
    snap = build_snapshot(diagnostics(), now=T0)
    rds = snap["RoomDiagnosticsSnapshot"]
    assert set(rds) == ROOM_DIAGNOSTICS_FIELDS
    assert rds["TotalConnectionAttempts"] == 3 and rds["FailedConnections"] == 2
    assert rds["RegisteredCharacterCount"] == 1 and rds["RegisteredPlayerCount"] == 2
    assert rds["SessionUptime"] == 12.5
    assert rds["LastConnectedAt"].startswith("2023-11-14T22:13:20")
    manager = snap["ConvaiRoomManager"]
    assert set(manager) == ROOM_MANAGER_FIELDS
    assert manager["IsConnected"] is True and manager["ReconnectCount"] == 1
    assert snap["metrics"]["latency"]["join_ms"] == 40.0
    assert snap["room"]["token_present"] is True


def test_written_snapshot_holds_no_secrets_and_is_private(tmp_path: Path) -> None:
    path = write_snapshot(tmp_path / "deep" / "snap.json", diagnostics(), now=T0)
    text = path.read_text()
    assert TOKEN not in text and API_KEY not in text and "eyJhbGci" not in text
    assert '"token"' not in text and "token_redacted" not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(text)["room"]["session_id"] == "s-1"


def test_snapshot_of_a_fresh_core(tmp_path: Path) -> None:
    core = SessionCore(
        SessionSettings(connect_url="http://127.0.0.1:1", api_key=API_KEY, character_id="c")
    )
    snap = build_snapshot(core.diagnostics(), now=T0)
    assert snap["ConvaiRoomManager"]["CurrentState"] == "disconnected"
    assert snap["RoomDiagnosticsSnapshot"]["TotalConnectionAttempts"] == 0
    assert API_KEY not in json.dumps(snap)


def test_default_path_is_under_the_state_dir(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    path = default_snapshot_path(T0)
    assert path.is_relative_to(tmp_path) and path.parent.name == "snapshots"

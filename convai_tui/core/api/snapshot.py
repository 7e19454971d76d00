"""The diagnostics snapshot: Unity's RoomDiagnosticsSnapshot and ConvaiRoomManager fields plus
our metrics, as one JSON document a user can attach to a support ticket. No secrets inside."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from convai_tui.core.errors.redact import redact

SCHEMA = "convai-tui.diagnostics-snapshot/1"
_SECRET_KEYS = frozenset({"token", "token_redacted", "api_key", "access_token"})
_PLAYER_KINDS = frozenset({"local_player", "remote_player"})


def _iso(epoch: Any) -> str | None:
    if not isinstance(epoch, int | float):
        return None
    return datetime.fromtimestamp(float(epoch), UTC).isoformat(timespec="milliseconds")


def _without_secrets(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            str(k): _without_secrets(v)
            for k, v in value.items()
            if str(k).lower() not in _SECRET_KEYS
        }
    if isinstance(value, list | tuple):
        return [_without_secrets(v) for v in value]
    return value


def build_snapshot(diagnostics: Mapping[str, Any], *, now: float | None = None) -> dict[str, Any]:
    """The snapshot of one `SessionPort.diagnostics()` result; tokens and keys are dropped."""
    now = time.time() if now is None else now
    diag = _without_secrets(dict(diagnostics))
    room = diag.get("room") if isinstance(diag.get("room"), Mapping) else {}
    participants = [p for p in diag.get("participants") or [] if isinstance(p, Mapping)]
    state = str(diag.get("state") or "disconnected")
    token_present = bool(
        isinstance(diagnostics.get("room"), Mapping) and diagnostics["room"].get("token")
    )
    return {
        "schema": SCHEMA,
        "written_at": _iso(now),
        "RoomDiagnosticsSnapshot": {
            "TotalConnectionAttempts": int(diag.get("connect_attempts") or 0),
            "SuccessfulConnections": int(diag.get("successful_connections") or 0),
            "FailedConnections": int(diag.get("failed_connections") or 0),
            "TotalErrors": int(diag.get("errors") or 0),
            "LastConnectedAt": _iso(diag.get("last_connected_at")),
            "LastErrorAt": _iso(diag.get("last_error_at")),
            "LastErrorCode": diag.get("last_error_code"),
            "LastErrorMessage": diag.get("last_error_message"),
            "SessionUptime": float(diag.get("uptime_s") or 0.0),
            "RegisteredCharacterCount": sum(
                1 for p in participants if p.get("kind") == "character"
            ),
            "RegisteredPlayerCount": sum(1 for p in participants if p.get("kind") in _PLAYER_KINDS),
        },
        "ConvaiRoomManager": {
            "CurrentState": state,
            "IsConnected": state in ("connected", "reconnecting"),
            "ConnectAttemptCount": int(diag.get("connect_attempts") or 0),
            "ReconnectCount": int(diag.get("reconnects") or 0),
            "LastSessionErrorCode": diag.get("last_error_code"),
            "LastSessionErrorMessage": diag.get("last_error_message"),
        },
        "room": {**dict(room), "token_present": token_present},
        "metrics": {k: v for k, v in diag.items() if k not in ("room", "participants")},
        "participants": participants,
    }


def snapshot_json(diagnostics: Mapping[str, Any], *, now: float | None = None) -> str:
    """The snapshot as indented JSON text, run through the redactor as a second guard."""
    text = json.dumps(
        build_snapshot(diagnostics, now=now), indent=2, ensure_ascii=False, default=str
    )
    return redact(text) + "\n"


def default_snapshot_path(now: float | None = None) -> Path:
    """Where the TUI writes a snapshot: `snapshots/` under the XDG state dir."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    directory = Path(platformdirs.user_state_dir("convai-tui")) / "snapshots"
    return directory / f"diagnostics-{stamp}-{os.getpid()}.json"


def write_snapshot(path: Path, diagnostics: Mapping[str, Any], *, now: float | None = None) -> Path:
    """Write the snapshot readable by its owner only (0600); returns the path."""
    text = snapshot_json(diagnostics, now=now)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)
    return path

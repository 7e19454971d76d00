"""Counters, room details (token redacted unless revealed), latency and audio figures.

The source is `session.diagnostics()` (polled about once a second) with the UI's own counts as a
fallback; keys it does not know are shown generically, missing ones as a dash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from convai_tui.core.errors.redact import redact_token
from convai_tui.ui.formatting import clock_time, duration, ms
from convai_tui.ui.model.reducer import MonitorModel
from convai_tui.ui.registry import key_hint

COUNTER_KEYS = (
    ("connect_attempts", "connect attempts"),
    ("successful_connections", "successful connections"),
    ("failed_connections", "failed connections"),
    ("reconnects", "reconnects"),
    ("errors", "errors"),
    ("last_error_code", "last error"),
    ("last_connected_at", "last connected at"),
    ("uptime_s", "uptime"),
)
ROOM_KEYS = ("room_url", "room_name", "session_id", "character_session_id", "request_trace_id")
HIDDEN_ROOM_KEYS = {"token", "token_redacted"}


def _value(key: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if key.endswith("_at") and isinstance(value, int | float):
        return clock_time(value)
    if key.endswith("_s") and isinstance(value, int | float):
        return duration(value)
    if key.endswith("_ms"):
        return ms(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_value(str(k), v)}" for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        return f"{len(value)} item{'s' if len(value) != 1 else ''}"
    return str(value)


def _grid(title: str) -> Table:
    table = Table.grid(padding=(0, 2))
    table.title = title
    table.title_justify = "left"
    table.title_style = "bold"
    table.add_column(style="dim", no_wrap=True)
    table.add_column(overflow="fold")
    return table


def merged(model: MonitorModel, diag: Mapping[str, Any], now: float) -> dict[str, Any]:
    """diagnostics() with the UI's own counts filled in where the core gave none."""
    c = model.counters
    fallback: dict[str, Any] = {
        "connect_attempts": c.connect_attempts,
        "successful_connections": c.successful_connections,
        "failed_connections": c.failed_connections,
        "reconnects": c.reconnects,
        "errors": c.errors,
        "last_error_code": model.last_error.code if model.last_error else None,
        "last_connected_at": c.last_connected_at,
        "uptime_s": (now - c.connected_since) if c.connected_since is not None else None,
    }
    out: dict[str, Any] = {**fallback, **{k: v for k, v in diag.items() if v is not None}}
    room = dict(diag.get("room") or {}) if isinstance(diag.get("room"), Mapping) else {}
    for key in ROOM_KEYS:
        if room.get(key) in (None, ""):
            room[key] = getattr(model, key, None)
    out["room"] = room
    latency = dict(model.latency_ms)
    if isinstance(diag.get("latency"), Mapping):
        latency.update({k: v for k, v in diag["latency"].items() if v is not None})
    out["latency"] = latency
    if model.server_metrics and not diag.get("server_metrics"):
        out["server_metrics"] = dict(model.server_metrics)  # replay has no core to ask
    return out


def render_diagnostics(
    data: Mapping[str, Any], *, reveal_token: bool, reveal_key: str
) -> RenderableType:
    counters = _grid("Connections")
    for key, label in COUNTER_KEYS:
        counters.add_row(label, _value(key, data.get(key)))

    room_table = _grid("Room")
    room: Mapping[str, Any] = data.get("room") or {}
    for key in (*ROOM_KEYS, *(k for k in room if k not in ROOM_KEYS and k not in HIDDEN_ROOM_KEYS)):
        room_table.add_row(key, _value(key, room.get(key)))
    token = room.get("token")
    if reveal_token and token:
        room_table.add_row("token", Text(str(token), style="bold"))
    else:
        shown = room.get("token_redacted") or redact_token(token) or "—"
        room_table.add_row("token", Text.assemble(str(shown), (f"  ({reveal_key}: reveal)", "dim")))

    latency_table = _grid("Latency")
    latency: Mapping[str, Any] = data.get("latency") or {}
    for key in ("connect_ms", "join_ms", "bot_ready_ms", "last_turn_first_text_ms"):
        latency_table.add_row(key.removesuffix("_ms").replace("_", " "), ms(latency.get(key)))
    for key, value in latency.items():
        if key not in ("connect_ms", "join_ms", "bot_ready_ms", "last_turn_first_text_ms"):
            latency_table.add_row(key.replace("_", " "), _value(key, value))

    audio_table = _grid("Audio")
    audio = data.get("audio")
    if isinstance(audio, Mapping):
        for key, value in audio.items():
            audio_table.add_row(key.replace("_", " "), _value(key, value))

    known = {k for k, _ in COUNTER_KEYS} | {"room", "latency", "audio", "link"}  # Link tab
    other = _grid("Other")
    for key, value in data.items():
        if key not in known:
            other.add_row(key, _value(key, value))
    parts: list[RenderableType] = [counters, Text(""), room_table, Text(""), latency_table]
    if audio_table.row_count:
        parts += [Text(""), audio_table]
    if other.row_count:
        parts += [Text(""), other]
    return Group(*parts)


class DiagnosticsPanel(Static):
    """The rendered diagnostics; `data` holds what was last shown (for tests)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.data: dict[str, Any] = {}
        self.token_revealed = False
        self.reveal_key = key_hint({}, "diagnostics.reveal-token")

    def show(self, data: dict[str, Any], *, reveal_token: bool) -> None:
        if data == self.data and reveal_token == self.token_revealed:
            return
        self.data, self.token_revealed = data, reveal_token
        self.update(render_diagnostics(data, reveal_token=reveal_token, reveal_key=self.reveal_key))

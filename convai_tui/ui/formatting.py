"""Small pure helpers that turn numbers and times into the text the monitor shows."""

from __future__ import annotations

import time

from convai_tui.core.api.states import SessionState

STATE_LABELS: dict[SessionState, str] = {
    SessionState.DISCONNECTED: "DISCONNECTED",
    SessionState.CONNECTING: "CONNECTING",
    SessionState.CONNECTED: "CONNECTED",
    SessionState.RECONNECTING: "RECONNECTING",
    SessionState.DISCONNECTING: "DISCONNECTING",
    SessionState.ERROR: "ERROR",
}

KIND_LABELS: dict[str, str] = {
    "local_player": "local player",
    "remote_player": "remote player",
    "character": "character",
}


def clock_time(at: float) -> str:
    """Wall-clock HH:MM:SS of an epoch time, in the local time zone."""
    return time.strftime("%H:%M:%S", time.localtime(at))


def duration(seconds: float) -> str:
    """A compact duration: 42s, 3:07, 1:02:03."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    if minutes:
        return f"{minutes}:{secs:02d}"
    return f"{secs}s"


def countdown(seconds: float) -> str:
    """Seconds left with one decimal under a minute, m:ss above."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    return duration(seconds)


def level_bar(dbfs: float | None, width: int = 10, floor: float = -60.0) -> str:
    """A level meter for a dBFS value: ▮ for lit cells, ▯ for dark ones."""
    if dbfs is None:
        return "·" * width
    fraction = min(1.0, max(0.0, (dbfs - floor) / -floor))
    lit = round(fraction * width)
    return "▮" * lit + "▯" * (width - lit)


def ms(value: object) -> str:
    """A latency figure in milliseconds, or an em dash when unknown."""
    if isinstance(value, int | float):
        return f"{value:.0f} ms"
    return "—"


def key_label(keymap: dict[str, str], binding_id: str, default: str) -> str:
    """The key(s) a binding is on, keymap applied, as a user would type them."""
    keys = keymap.get(binding_id, default)
    return keys.split(",")[0].strip().replace("escape", "esc").replace("question_mark", "?")

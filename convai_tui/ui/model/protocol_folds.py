"""Folding the server messages that annotate a turn or the session into the monitor model: a
blocked message (moderation), an aborted turn, unknown message types and the server's metrics.
Registered into reducer.py's handler table; the turn-completed line stays in reducer.py and
asks `note_aborted` whether the turn was aborted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from convai_tui.core.api.events import (
    Event,
    LogRecorded,
    ModerationResult,
    ServerMetricsReceived,
    ServerNotice,
    TurnCompleted,
)
from convai_tui.ui.model.state import MonitorState as MonitorModel
from convai_tui.ui.model.views import Part


def _parts(*names: str) -> set[Part]:
    return {Part(name) for name in names}


def on_moderation(m: MonitorModel, e: ModerationResult) -> set[Part]:
    if e.passed:
        return set()
    why = e.reason or "no reason given"
    m.thinking = False
    m.streaming_role, m.streaming_text = None, ""
    m.activity_note = f"Not answered: your message was blocked by moderation ({why})."
    m.add_line(e.at, "warning", f"message blocked by moderation: {why}")
    return _parts("activity", "transcript")


def note_aborted(m: MonitorModel, e: TurnCompleted) -> bool:
    """An aborted turn is a visible warning; True when there was one."""
    if not e.was_aborted:
        return False
    reason = f" ({e.error_reason})" if e.error_reason else ""
    m.activity_note = f"{m.display_name}'s reply was aborted by the service{reason}."
    m.add_line(e.at, "warning", f"reply aborted by the service{reason}")
    return True


def on_notice(m: MonitorModel, e: ServerNotice) -> set[Part]:
    if e.known:
        return set()
    m.logs.append(
        LogRecorded(
            level="info",
            category="protocol",
            at=e.at,
            message=f"Unknown server message type {e.message_type!r} "
            "(further ones are counted in Diagnostics).",
        )
    )
    return _parts("diagnostics")


def on_server_metrics(m: MonitorModel, e: ServerMetricsReceived) -> set[Part]:
    for entry in e.entries:
        name = f"{e.kind} {entry.get('processor', '?')}"
        if entry.get("metric"):
            name += f" {entry['metric']}"
        m.server_metrics[name] = entry.get("value")
    return _parts("diagnostics")


HANDLERS: dict[type[Event], Callable[[MonitorModel, Any], set[Part]]] = {
    ModerationResult: on_moderation,
    ServerNotice: on_notice,
    ServerMetricsReceived: on_server_metrics,
}

"""The session's connection and error counters, folded from its events: the one definition the
core's diagnostics, the monitor and a replayed log all use, so a replay shows the figures the
live session did.

What each counter means:
- connect_attempts: /connect attempts started (ConnectAttemptStarted), connects, waiting-room
  polls and reconnects alike.
- successful_connections: rooms joined (RoomJoined). LiveKit resuming a room is no new
  connection.
- failed_connections: attempts that ended without joining: the next retry is scheduled, the
  next attempt starts, or the session ends with an error. An attempt the user cancels is not
  a failure.
- reconnects: times the session entered Reconnecting (a drop, LiveKit resuming, a stalled
  link), however that episode ended.
- errors, errors_by_category, last_error_*: every ErrorRaised.
- last_connected_at / connected_since: when the latest room was joined; connected_since is
  cleared once that room is left (a new attempt or the session ending).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from convai_tui.core.api.events import (
    ConnectAttemptStarted,
    ErrorRaised,
    Event,
    MessageSent,
    RetryScheduled,
    RoomJoined,
    SessionEnded,
    SessionStateChanged,
)
from convai_tui.core.api.states import SessionState

COUNTER_KEYS = (
    "connect_attempts",
    "successful_connections",
    "failed_connections",
    "reconnects",
    "errors",
    "errors_by_category",
    "last_connected_at",
    "last_error_at",
    "last_error_code",
    "last_error_message",
)
"""The keys `snapshot` gives (then uptime_s and messages_sent), as diagnostics() names them."""

_ROOM_LEFT_STATES = (SessionState.DISCONNECTING, SessionState.DISCONNECTED, SessionState.ERROR)


@dataclass
class SessionCounters:
    """Counters folded from a session's events with `apply`; no clock, no I/O."""

    connect_attempts: int = 0
    successful_connections: int = 0
    failed_connections: int = 0
    reconnects: int = 0
    errors: int = 0
    errors_by_category: dict[str, int] = field(default_factory=dict)
    last_connected_at: float | None = None
    connected_since: float | None = None
    last_error_at: float | None = None
    last_error_code: str | None = None
    last_error_message: str | None = None
    messages_sent: int = 0
    _attempt_open: bool = field(default=False, repr=False)

    def apply(self, event: Event) -> bool:
        """Fold one event in; True when a counter changed."""
        if isinstance(event, ConnectAttemptStarted):
            self._attempt_ended(failed=True)
            self.connect_attempts += 1
            self.connected_since = None
            self._attempt_open = True
        elif isinstance(event, RoomJoined):
            self._attempt_open = False
            self.successful_connections += 1
            self.last_connected_at = self.connected_since = event.at
        elif isinstance(event, RetryScheduled):
            self._attempt_ended(failed=True)
            self.connected_since = None
        elif isinstance(event, SessionStateChanged):
            if event.new is SessionState.RECONNECTING:
                self.reconnects += 1
            elif event.new in _ROOM_LEFT_STATES:
                self._attempt_ended(failed=event.new is SessionState.ERROR)
                self.connected_since = None
        elif isinstance(event, SessionEnded):
            self._attempt_ended(failed=event.error is not None)
        elif isinstance(event, ErrorRaised):
            self._count_error(event)
        elif isinstance(event, MessageSent):
            self.messages_sent += 1
        else:
            return False
        return True

    def snapshot(self, now: float) -> dict[str, Any]:
        """The counters as diagnostics() shows them, with the uptime of the current room."""
        out: dict[str, Any] = {key: getattr(self, key) for key in COUNTER_KEYS}
        out["errors_by_category"] = dict(self.errors_by_category)
        since = self.connected_since
        out["uptime_s"] = (now - since) if since is not None else 0.0
        out["messages_sent"] = self.messages_sent
        return out

    def _attempt_ended(self, *, failed: bool) -> None:
        if self._attempt_open and failed:
            self.failed_connections += 1
        self._attempt_open = False

    def _count_error(self, event: ErrorRaised) -> None:
        error = event.error
        self.errors += 1
        self.errors_by_category[error.category] = self.errors_by_category.get(error.category, 0) + 1
        self.last_error_at = event.at
        self.last_error_code = error.code
        self.last_error_message = error.message

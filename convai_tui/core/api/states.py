"""The session state machine (Unity `SessionState`, shared/seeds/001)."""

from __future__ import annotations

from enum import StrEnum


class SessionState(StrEnum):
    """The six states; values are the lowercase names used on the wire (headless JSON)."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DISCONNECTING = "disconnecting"
    ERROR = "error"

    def is_connected(self) -> bool:
        return self in (SessionState.CONNECTED, SessionState.RECONNECTING)

    def is_transitioning(self) -> bool:
        return self in (
            SessionState.CONNECTING,
            SessionState.RECONNECTING,
            SessionState.DISCONNECTING,
        )

    def is_stable(self) -> bool:
        return self in (SessionState.DISCONNECTED, SessionState.CONNECTED, SessionState.ERROR)

    def can_accept_input(self) -> bool:
        return self is SessionState.CONNECTED


S = SessionState

# The documented transitions, plus the ones a user or a server forces: cancelling a connect
# or a reconnect (→ Disconnecting), a fatal failure while connected (→ Error), and leaving
# Error through a disconnect (the SDK's DisconnectAsync then ConnectAsync).
LEGAL_TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    S.DISCONNECTED: frozenset({S.CONNECTING}),
    S.CONNECTING: frozenset({S.CONNECTED, S.ERROR, S.DISCONNECTING}),
    S.CONNECTED: frozenset({S.DISCONNECTING, S.RECONNECTING, S.ERROR}),
    S.RECONNECTING: frozenset({S.CONNECTED, S.ERROR, S.DISCONNECTING}),
    S.DISCONNECTING: frozenset({S.DISCONNECTED}),
    S.ERROR: frozenset({S.DISCONNECTED}),
}


def is_legal(old: SessionState, new: SessionState) -> bool:
    return new in LEGAL_TRANSITIONS[old]

"""LiveKit `DisconnectReason` → whether to reconnect, after how long, and under which error code.

Values and advice from the web SDK docs (0–7, 9) and livekit-protocol (the rest); see
docs/convai-protocol.md §4.8 and design.md §3.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DisconnectRule:
    value: int
    name: str
    retry: bool
    code: str
    explanation: str
    first_delay_s: float | None = None


_RULES = (
    DisconnectRule(
        0,
        "UNKNOWN_REASON",
        True,
        "transport.signal_disconnected",
        "The connection dropped (network gone or offline).",
    ),
    DisconnectRule(
        1, "CLIENT_INITIATED", False, "session.cancelled", "This client ended the session."
    ),
    DisconnectRule(
        2,
        "DUPLICATE_IDENTITY",
        False,
        "transport.duplicate_identity",
        "Another client joined with the same identity: the session was opened elsewhere.",
    ),
    DisconnectRule(
        3,
        "SERVER_SHUTDOWN",
        True,
        "transport.signal_disconnected",
        "The LiveKit server is shutting down or restarting.",
        first_delay_s=5.0,
    ),
    DisconnectRule(
        4,
        "PARTICIPANT_REMOVED",
        False,
        "transport.participant_removed",
        "The server removed this participant from the room.",
    ),
    DisconnectRule(
        5,
        "ROOM_DELETED",
        False,
        "transport.room_deleted",
        "The session was closed server-side (room deleted).",
    ),
    DisconnectRule(
        6,
        "STATE_MISMATCH",
        True,
        "transport.signal_disconnected",
        "Client and server state diverged.",
    ),
    DisconnectRule(
        7,
        "JOIN_FAILURE",
        False,
        "transport.join_failure",
        "Joining the room failed: check the API key and character id.",
    ),
    DisconnectRule(
        8,
        "MIGRATION",
        True,
        "transport.signal_disconnected",
        "The room is migrating to another server.",
    ),
    DisconnectRule(
        9, "SIGNAL_CLOSE", True, "transport.signal_disconnected", "The signal connection closed."
    ),
    DisconnectRule(
        10, "ROOM_CLOSED", False, "transport.room_deleted", "The room was closed server-side."
    ),
    DisconnectRule(
        11,
        "USER_UNAVAILABLE",
        False,
        "transport.livekit_error",
        "The remote user is unavailable (SIP).",
    ),
    DisconnectRule(
        12,
        "USER_REJECTED",
        False,
        "transport.livekit_error",
        "The remote user rejected the call (SIP).",
    ),
    DisconnectRule(
        13, "SIP_TRUNK_FAILURE", False, "transport.livekit_error", "The SIP trunk failed."
    ),
    DisconnectRule(
        14,
        "CONNECTION_TIMEOUT",
        True,
        "transport.signal_disconnected",
        "The connection to the LiveKit server timed out.",
    ),
    DisconnectRule(
        15, "MEDIA_FAILURE", True, "transport.ice_failed", "The media (WebRTC) connection failed."
    ),
    DisconnectRule(16, "AGENT_ERROR", False, "server.fatal_error", "The character's agent failed."),
)

DISCONNECT_RULES: dict[int, DisconnectRule] = {rule.value: rule for rule in _RULES}


def rule_for(reason: int) -> DisconnectRule:
    """The rule for a reason value; values this table does not know are treated as a drop."""
    rule = DISCONNECT_RULES.get(reason)
    if rule is not None:
        return rule
    return DisconnectRule(
        reason,
        f"REASON_{reason}",
        True,
        "transport.signal_disconnected",
        f"The room connection ended (reason {reason}).",
    )

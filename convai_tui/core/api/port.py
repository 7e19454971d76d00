"""The interface a front end (TUI, headless, tests' fake core) uses to drive a session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from convai_tui.core.api.bus import Subscription
from convai_tui.core.api.states import SessionState


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What happened to a message the user asked to send.

    `status` is "sent" (on the wire), "queued" (held until the character is ready) or
    "refused" (not sent; `reason` says why, in words a user understands).
    """

    status: str
    message_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ControlResult:
    """How a control message ended: the ack's status (success, error, processing, pending),
    or "refused" (never sent) or "timeout" (sent, no server-response in time)."""

    status: str
    message: str | None = None
    extras: dict[str, Any] | None = None
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """Static facts about the session a front end shows in its header."""

    character_id: str
    connect_url: str
    character_name: str | None = None


class SessionPort(Protocol):
    """What every front end may call. The real one is core.session.SessionCore."""

    @property
    def state(self) -> SessionState: ...

    @property
    def info(self) -> SessionInfo: ...

    def subscribe(self) -> Subscription:
        """A stream of every event from now on."""

    async def start(self) -> None:
        """Connect (with retries, waiting room and reconnects as configured); returns at once."""

    async def disconnect(self, reason: str = "user") -> None:
        """End the session cleanly (also leaves the Error state)."""

    async def send_text(self, text: str) -> SendOutcome: ...

    async def send_control(
        self, msg_type: str, data: dict[str, Any] | None = None, *, ack_timeout_s: float = 10.0
    ) -> ControlResult:
        """Send one client message (protocol §2.2) and wait for its server-response; refused
        (never sent) unless Connected with the character ready, or when oversize."""

    async def reset_idle_timer(self) -> None: ...

    def retry_now(self) -> None:
        """Run a scheduled retry, reconnect or waiting-room poll immediately."""

    def cancel_retry(self) -> None:
        """Give up the scheduled retry or the waiting room; the session ends Disconnected."""

    def toggle_mute(self) -> bool:
        """Mute or unmute the microphone; returns True when it is now muted."""

    def toggle_push_to_talk(self) -> bool:
        """Open or close the microphone in push-to-talk mode; returns True when it is open."""

    def diagnostics(self) -> dict[str, Any]:
        """Counters, room details (token redacted) and latency figures, as plain JSON data."""

    async def close(self) -> None:
        """Release everything (called once, when the front end exits)."""

"""How a room visit ends, as the supervisor reads it: a drop worth reconnecting after, or the
end of the session."""

from __future__ import annotations

from dataclasses import dataclass

from convai_tui.core.api.states import SessionState
from convai_tui.core.errors.error import SessionError


@dataclass(frozen=True, slots=True)
class Drop:
    """The room connection was lost in a way worth reconnecting after."""

    error: SessionError
    after_shutdown: bool = False


@dataclass(frozen=True, slots=True)
class End:
    """The session is over; `state` is where it rests (Disconnected or Error)."""

    state: SessionState
    reason: str
    error: SessionError | None = None


Outcome = Drop | End

"""How a room visit ends, as the supervisor reads it: a drop worth reconnecting after, or the
end of the session (and, after a stalled link, the link coming back)."""

from __future__ import annotations

from dataclasses import dataclass

from convai_tui.core.api.states import SessionState
from convai_tui.core.errors.error import SessionError


@dataclass(frozen=True, slots=True)
class Drop:
    """The room connection was lost in a way worth reconnecting after."""

    error: SessionError
    after_shutdown: bool = False
    link_stalled: bool = False
    """The room is still joined but its link went quiet (or LiveKit is resuming it): it is kept
    for the stall grace, in case the link comes back, before the reconnects."""


@dataclass(frozen=True, slots=True)
class End:
    """The session is over; `state` is where it rests (Disconnected or Error)."""

    state: SessionState
    reason: str
    error: SessionError | None = None


@dataclass(frozen=True, slots=True)
class LinkBack:
    """The stalled link came back: the room was kept and the session is Connected again."""


Outcome = Drop | End | LinkBack

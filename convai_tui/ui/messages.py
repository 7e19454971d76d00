"""Messages the session-event worker posts to the App."""

from __future__ import annotations

from textual.message import Message

from convai_tui.core.api.events import Event


class SessionEventsReceived(Message):
    """A batch of session events, in order, drained from the subscription in one go."""

    def __init__(self, events: tuple[Event, ...]) -> None:
        super().__init__()
        self.events = events


class SessionStreamEnded(Message):
    """The subscription closed (the core shut down its bus)."""

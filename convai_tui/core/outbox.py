"""Client messages into the current room: built and size-checked by protocol.py, registered
for their acknowledgement and announced as MessageSent. A failure is an error event, never an
exception for the caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from convai_tui.core import protocol
from convai_tui.core.acks import AckTracker
from convai_tui.core.controls import summarize
from convai_tui.core.errors import ConvaiError, SessionError, make_error
from convai_tui.core.events import Event, MessageSent


class DataChannel(Protocol):
    """The one thing the outbox needs from a joined room."""

    async def send(self, payload: bytes) -> None: ...


class Outbox:
    def __init__(self, acks: AckTracker, publish: Callable[[Event], None],
                 raise_error: Callable[[SessionError], SessionError]) -> None:
        self._acks = acks
        self._publish = publish
        self._raise = raise_error

    async def send(self, room: DataChannel | None, msg_type: str,
                   data: dict[str, Any]) -> str | None:
        """Send one client message; returns its id, or None (and an error event) on failure."""
        if room is None:
            self._raise(make_error("session.invalid_state",
                                   f"Cannot send {msg_type}: not in a room."))
            return None
        try:
            out = protocol.build_message(msg_type, data)
            await room.send(out.payload)
        except ConvaiError as exc:
            self._raise(exc.error)
            return None
        self._acks.sent(msg_type, out.id)
        self._publish(MessageSent(message_type=msg_type, message_id=out.id,
                                  summary=summarize(msg_type, data)))
        return out.id

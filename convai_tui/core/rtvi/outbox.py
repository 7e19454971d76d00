"""Client messages into the current room: built and size-checked by protocol.py, registered
for their acknowledgement and announced as MessageSent. A failure is an error event, never an
exception for the caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from convai_tui.core.api.events import Event, MessageSent
from convai_tui.core.api.port import ControlResult
from convai_tui.core.errors.error import ConvaiError, SessionError, make_error
from convai_tui.core.rtvi import protocol
from convai_tui.core.rtvi.acks import AckTracker
from convai_tui.core.rtvi.controls import summarize
from convai_tui.core.settings.session_settings import CONTROL_TYPES, VIDEO_TYPES


class DataChannel(Protocol):
    """The one thing the outbox needs from a joined room."""

    async def send(self, payload: bytes) -> None: ...


class Outbox:
    def __init__(
        self,
        acks: AckTracker,
        publish: Callable[[Event], None],
        raise_error: Callable[[SessionError], SessionError],
    ) -> None:
        self._acks = acks
        self._publish = publish
        self._raise = raise_error

    async def send(
        self,
        room: DataChannel | None,
        msg_type: str,
        data: dict[str, Any],
        *,
        announce: bool = True,
        awaited: bool = False,
    ) -> str | None:
        """Send one client message; returns its id, or None (and an error event) on failure.

        `announce=False` (the handshake) sends without a MessageSent event: client-ready is
        answered by bot-ready, not by an acknowledgement, so it is no row of the Requests tab;
        its id is still registered for an error-response naming it. `awaited`: the caller
        will wait for the answer (AckTracker.wait)."""
        if room is None:
            self._raise(
                make_error("session.invalid_state", f"Cannot send {msg_type}: not in a room.")
            )
            return None
        try:
            out = protocol.build_message(msg_type, data)
        except ConvaiError as exc:
            self._raise(exc.error)
            return None
        # Registered first: the answer can arrive while publish_data is still being awaited.
        self._acks.sending(msg_type, out.id, awaited=awaited)
        try:
            await room.send(out.payload)
        except ConvaiError as exc:
            self._acks.not_sent(out.id)
            self._raise(exc.error)
            return None
        except BaseException:
            self._acks.not_sent(out.id)
            raise
        if not announce:
            return out.id
        self._publish(
            MessageSent(message_type=msg_type, message_id=out.id, summary=summarize(msg_type, data))
        )
        return out.id

    async def request(
        self, room: DataChannel | None, msg_type: str, data: dict[str, Any], ack_timeout_s: float
    ) -> ControlResult:
        """Send and wait for the answer (a server-response, or an error-response naming it)."""
        message_id = await self.send(room, msg_type, data, awaited=True)
        if message_id is None:
            return ControlResult("refused", "The message could not be sent (see the errors).")
        try:
            ack = await self._acks.wait(message_id, ack_timeout_s)
        except TimeoutError:
            self._raise(
                make_error(
                    "session.ack_timeout",
                    f"No server-response to {msg_type} within {ack_timeout_s:g} s.",
                )
            )
            return ControlResult(
                "timeout", f"No acknowledgement within {ack_timeout_s:g} s.", message_id=message_id
            )
        return ControlResult(ack.status, ack.message, ack.extras, message_id)

    def precheck(self, msg_type: str, data: dict[str, Any], *, video: bool) -> ControlResult | None:
        """Why a control message must not be sent (unknown type, needs video, too large)."""
        if msg_type not in CONTROL_TYPES:
            return ControlResult("refused", f"Unknown control message type {msg_type!r}.")
        if msg_type in VIDEO_TYPES and not video:
            return ControlResult(
                "refused",
                f"Not sent: {msg_type} needs a session with video "
                "(connection_type video); this one is audio only.",
            )
        try:
            protocol.build_message(msg_type, data)
        except ConvaiError as exc:
            self._raise(exc.error)
            return ControlResult("refused", exc.error.message)
        return None

"""Messages from the room: each packet parsed (a bad one is an error event, never an exception
for the transport), timed for the turn figures, and handed to the one part of the session that
owns its type.

The multi-character room sees every message first (it attributes speech to an instance and
takes bot-ready and its own types while a roster is active). Then one table, `routes`, maps
each type to its handler: bot-ready here, and the types ServerMessages, Conversation and
ServerNotices list in their `routes`, joined at construction (a type owned twice is a bug,
refused at once). A type in no table goes to the notices' `on_unknown`. bot-ready is what makes
the session take input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from convai_tui.core.api import events as ev
from convai_tui.core.api.metrics import SessionMetrics
from convai_tui.core.conversation.conversation import Conversation
from convai_tui.core.conversation.server_messages import ServerMessages
from convai_tui.core.conversation.turn_timing import TurnTimer
from convai_tui.core.conversation.user_input import UserInput
from convai_tui.core.errors.error import ConvaiError, SessionError
from convai_tui.core.link.participants import ParticipantTable
from convai_tui.core.multi.room_session import RoomSession
from convai_tui.core.rtvi import protocol
from convai_tui.core.rtvi.readiness import BotReadiness


@dataclass(frozen=True, slots=True)
class Inbound:
    publish: Callable[[ev.Event], None]
    raise_error: Callable[[SessionError], SessionError]
    metrics: SessionMetrics
    turn_timer: TurnTimer
    room: RoomSession
    server: ServerMessages
    conversation: Conversation
    readiness: BotReadiness
    participants: ParticipantTable
    user_input: UserInput
    routes: dict[str, protocol.MessageHandler] = field(init=False)
    """Every server message type the session owns, with its handler: the one routing table."""

    def __post_init__(self) -> None:
        table: dict[str, protocol.MessageHandler] = {}
        owned: tuple[protocol.Routes, ...] = (
            {"bot-ready": lambda _msg: self.bot_ready()},
            self.server.routes,
            self.conversation.routes,
            self.server.notices.routes,
        )
        for routes in owned:
            for message_type, handler in routes.items():
                if message_type in table:
                    raise ValueError(f"server message {message_type!r} has two owners")
                table[message_type] = handler
        object.__setattr__(self, "routes", table)  # frozen: set once, here

    def on_data(self, payload: bytes, sender: str | None) -> None:
        self.metrics.messages_received += 1
        try:
            message = protocol.parse_inbound(payload)
            self.turn_timer.message(message.type, message.data)
            self.dispatch(message, sender)
        except ConvaiError as exc:
            self.raise_error(exc.error)

    def dispatch(self, msg: protocol.InboundMessage, sender: str | None = None) -> None:
        if self.room.dispatch(msg, sender):
            return
        self.routes.get(msg.type, self.server.notices.on_unknown)(msg)

    def bot_ready(self) -> None:
        """The character (the initial one, in a multi-character room) is ready: queued text
        goes out now."""
        if not self.readiness.mark_ready():
            return
        since = self.readiness.since_connect_ms
        if self.metrics.bot_ready_ms is None:
            self.metrics.bot_ready_ms = since
        self.publish(
            ev.BotReady(
                participant_identity=self.participants.character_identity(),
                since_connect_ms=round(since, 1) if since else None,
            )
        )
        self.conversation.set_activity("listening")
        self.user_input.flush_soon()

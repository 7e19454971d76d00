"""What the user sends into a session's room: typed text (sent at once, held until the
character is ready, or refused with the reason), control messages awaiting their
acknowledgement, and the kill-pipeline that ends the server session on purpose. The session
(session.py) keeps the state machine; this only asks it whether the room can take input now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from convai_tui.core.api import events as ev
from convai_tui.core.api.port import ControlResult, SendOutcome
from convai_tui.core.api.states import SessionState
from convai_tui.core.conversation.conversation import Conversation
from convai_tui.core.conversation.input_queue import InputQueue
from convai_tui.core.conversation.server_messages import ServerMessages
from convai_tui.core.conversation.turn_timing import TurnTimer
from convai_tui.core.errors.error import ConvaiError
from convai_tui.core.rtvi import protocol
from convai_tui.core.rtvi.acks import AckTracker
from convai_tui.core.rtvi.outbox import Outbox
from convai_tui.core.rtvi.teardown import Room, kill_pipeline_on_leave
from convai_tui.core.settings.session_settings import SessionSettings
from convai_tui.runtime.task_set import TaskSet


@dataclass(frozen=True, slots=True)
class InputHooks:
    """What sending needs from its session (all callables, so nothing here reaches into it)."""

    publish: Callable[[ev.Event], None]
    state: Callable[[], SessionState]
    ready: Callable[[], bool]
    """The character of the current room sent bot-ready."""
    channel: Callable[[], Room | None]
    """The joined room's transport, None between rooms."""
    refusal: Callable[[], str | None]
    """Why the room's interaction target cannot take input now (multi-character rooms)."""
    settings: Callable[[], SessionSettings]
    """The session's current settings (some control messages need a video connection)."""


@dataclass(slots=True)
class UserInput:
    hooks: InputHooks
    queue: InputQueue
    outbox: Outbox
    acks: AckTracker
    server: ServerMessages
    conversation: Conversation
    turn_timer: TurnTimer
    tasks: TaskSet
    kill_requested: bool = False
    """kill-pipeline was sent (by the user or on leaving): the room closing is the end asked
    for, not a drop to reconnect from."""

    def new_room(self) -> None:
        """A new room is being joined: no kill-pipeline was asked for in it yet."""
        self.kill_requested = False

    def _video(self) -> bool:
        return self.hooks.settings().connect_options.connection_type == "video"

    def _live(self) -> bool:
        return self.hooks.state() is SessionState.CONNECTED and self.hooks.ready()

    async def send_text(self, text: str) -> SendOutcome:
        text = text.strip()
        if not text:
            return self.queue.refuse(text, "Nothing to send: the message is empty.")
        try:
            protocol.build_message("user_text_message", {"text": text})
        except ConvaiError as exc:
            self.hooks.publish(ev.ErrorRaised(error=exc.error))
            return self.queue.refuse(text, exc.error.message)
        state = self.hooks.state()
        if state is SessionState.CONNECTED and self.hooks.ready():
            if (refusal := self.hooks.refusal()) is not None:
                return self.queue.refuse(text, refusal)
            return await self._send_user_text(text)
        if state in (
            SessionState.CONNECTING,
            SessionState.RECONNECTING,
            SessionState.CONNECTED,
        ):
            return self.queue.hold(text)
        return self.queue.refuse(
            text, f"Not connected (the session is {state.value}); connect first."
        )

    async def send_control(
        self, msg_type: str, data: dict[str, Any] | None, ack_timeout_s: float
    ) -> ControlResult:
        """Send one client message and wait for its server-response (flat or wrapped).

        Nothing is sent unless the session is Connected and the character is ready; the
        refusal says why. Oversize messages are refused before sending.
        """
        refused = self.outbox.precheck(msg_type, data or {}, video=self._video())
        if refused is not None:
            return refused
        if not self._live():
            state = self.hooks.state()
            why = (
                "the character is not ready yet"
                if state is SessionState.CONNECTED
                else f"the session is {state.value}"
            )
            self.hooks.publish(ev.InputRefused(text=msg_type, reason=f"Not sent: {why}."))
            return ControlResult("refused", f"Not sent: {why}.")
        killing = msg_type == "kill-pipeline"
        self.kill_requested = self.kill_requested or killing  # its room close is the end
        self.server.client_spoke()
        if msg_type == "trigger-message":
            self.turn_timer.sent("trigger")
        result = await self.outbox.request(
            self.hooks.channel(), msg_type, data or {}, ack_timeout_s
        )
        if killing and result.status in ("refused", "error"):
            self.kill_requested = False
        return result

    async def reset_idle_timer(self) -> None:
        if self.hooks.state() is SessionState.CONNECTED:
            await self._send("reset-idle-timer", {})
            self.hooks.publish(ev.IdleTimerReset(acknowledged=False))

    def talk_released(self) -> None:
        if self._live():
            # Releasing the talk key ends the user's turn at once (protocol §3, push-to-talk).
            self.tasks.spawn(self._send("force-user-stopped-speaking", {}))

    def flush_soon(self) -> None:
        """Send what was typed while the character was not ready (it is now)."""
        if self.hooks.ready() and len(self.queue):
            self.tasks.spawn(self.queue.flush(self._live, self._send_user_text))

    async def _send_user_text(self, text: str) -> SendOutcome:
        message_id = await self._send("user_text_message", {"text": text})
        if message_id is None:
            return self.queue.refuse(text, "The message could not be sent (see the error log).")
        self.conversation.user_text_sent(text)
        self.turn_timer.sent()
        return SendOutcome("sent", message_id=message_id)

    async def _send(self, msg_type: str, data: dict[str, Any]) -> str | None:
        self.server.client_spoke()
        return await self.outbox.send(self.hooks.channel(), msg_type, data)

    async def release_server_session(self) -> None:
        """kill-pipeline (≤ 1 s for its ack) while the room is up, whose closing is then the end
        we asked for; the caller leaves and POSTs /disconnect: the slot is free once we go."""
        self.kill_requested = True
        await kill_pipeline_on_leave(self.hooks.channel(), self.outbox, self.acks)

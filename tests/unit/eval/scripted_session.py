"""A SessionPort whose character answers from a script, for the eval runner's unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from convai_tui.core.api.bus import EventBus, Subscription
from convai_tui.core.api.events import (
    BotActivityChanged,
    BotReady,
    Event,
    LlmNoResponse,
    RoomDetailsReceived,
    SessionEnded,
    TranscriptReceived,
    TurnCompleted,
    TurnTimed,
)
from convai_tui.core.api.port import ControlResult, SendOutcome, SessionInfo
from convai_tui.core.api.states import SessionState
from convai_tui.core.errors.error import make_error

Reply = Callable[[str], list[Event]]


def spoken(text: str, *, first_text_ms: float = 100.0, first_audio_ms: float = 300.0) -> Reply:
    def reply(_heard: str) -> list[Event]:
        return [
            TranscriptReceived(role="character", text=text, final=True, full_text=text),
            BotActivityChanged(activity="speaking"),
            TurnTimed(
                turn=1, sent_to_first_text_ms=first_text_ms, sent_to_first_audio_ms=first_audio_ms
            ),
            TurnCompleted(turn_id=1, was_interrupted=False, reply_text=text),
        ]

    return reply


def abstains(_heard: str) -> list[Event]:
    return [LlmNoResponse(reason="abstain")]


def silent(_heard: str) -> list[Event]:
    return []


class ScriptedSession:
    def __init__(self, reply: Reply, *, fail_connect: str | None = None) -> None:
        self._bus = EventBus()
        self._reply = reply
        self._fail = fail_connect
        self._state = SessionState.DISCONNECTED
        self.sent: list[str] = []
        self.disconnects = 0
        self.closed = False

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def info(self) -> SessionInfo:
        return SessionInfo("char", "http://x")

    def subscribe(self) -> Subscription:
        return self._bus.subscribe()

    async def start(self) -> None:
        asyncio.get_running_loop().call_soon(self._connect)

    def _connect(self) -> None:
        if self._fail is not None:
            self._state = SessionState.ERROR
            self._bus.publish(SessionEnded(reason="error", error=make_error(self._fail, "no")))
            return
        self._state = SessionState.CONNECTED
        self._bus.publish(
            RoomDetailsReceived(
                session_id="sid-1",
                character_session_id="csid-1",
                room_name="r",
                room_url="ws://x",
                request_trace_id=None,
                connect_ms=1.0,
            )
        )
        self._bus.publish(BotReady(participant_identity="bot", since_connect_ms=1.0))

    async def disconnect(self, reason: str = "user") -> None:
        self.disconnects += 1
        if self._state is not SessionState.DISCONNECTED:
            self._state = SessionState.DISCONNECTED
            self._bus.publish(SessionEnded(reason=reason))

    def _answer(self, heard: str) -> None:
        self.sent.append(heard)
        loop = asyncio.get_running_loop()
        for delay, event in enumerate(self._reply(heard), start=1):
            loop.call_later(0.01 * delay, self._bus.publish, event)

    async def send_text(self, text: str) -> SendOutcome:
        self._answer(text)
        return SendOutcome("sent", "m1")

    async def send_control(
        self, msg_type: str, data: dict[str, Any] | None = None, *, ack_timeout_s: float = 10.0
    ) -> ControlResult:
        self._answer(msg_type)
        return ControlResult("success")

    async def reset_idle_timer(self) -> None:
        pass

    def retry_now(self) -> None:
        pass

    def cancel_retry(self) -> None:
        pass

    def toggle_mute(self) -> bool:
        return False

    def toggle_push_to_talk(self) -> bool:
        return False

    def diagnostics(self) -> dict[str, Any]:
        return {}

    async def close(self) -> None:
        self.closed = True

"""A scripted stand-in for SessionCore: replays events, records what the UI asked of it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from convai_tui.core.api.bus import EventBus, Subscription
from convai_tui.core.api.events import (
    AudioLevels,
    Event,
    IdleTimerReset,
    MessageSent,
    RetryCancelled,
    ServerResponseReceived,
    SessionStateChanged,
    TranscriptReceived,
)
from convai_tui.core.api.port import ControlResult, SendOutcome, SessionInfo
from convai_tui.core.api.states import SessionState
from convai_tui.core.rtvi.controls import summarize

T0 = 1_700_000_000.0
"""The frozen epoch of every scripted scenario (14:13:20 UTC)."""


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def set(self, now: float) -> None:
        self.now = now


@dataclass(frozen=True)
class Step:
    """Publish `event` after waiting `delay_s` (real seconds; 0 publishes at once)."""

    event: Event
    delay_s: float = 0.0


@dataclass
class FakeSession:
    """Implements SessionPort from a script; every command the UI sends is in `calls`."""

    script: Sequence[Step] = ()
    info: SessionInfo = field(
        default_factory=lambda: SessionInfo("char-demo-001", "http://127.0.0.1:7880", "Ava")
    )
    diagnostics_data: dict[str, Any] = field(default_factory=dict)
    send_outcome: Callable[[str], SendOutcome] = lambda text: SendOutcome("sent", "msg-1")
    replies: Callable[[str], Iterable[Event]] | None = None
    auto_ack_idle: bool = True
    auto_cancel: bool = True
    control_reply: Callable[[str, dict[str, Any]], ControlResult] | None = None
    """How send_control ends; by default a success ack like the stand-in's."""
    clock: Callable[[], float] | None = None
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bus = EventBus()
        self._state = SessionState.DISCONNECTED
        self._player: asyncio.Task[None] | None = None
        self._control_seq = 0
        self.script_done = asyncio.Event()

    # --- SessionPort ---------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self._state

    def subscribe(self) -> Subscription:
        self.calls.append(("subscribe", ()))
        return self.bus.subscribe()

    async def start(self) -> None:
        self.calls.append(("start", ()))
        if any(step.delay_s for step in self.script):
            self._player = asyncio.get_running_loop().create_task(self.play(self.script))
        else:
            self.publish(*(step.event for step in self.script))
            self.script_done.set()

    async def disconnect(self, reason: str = "user") -> None:
        self.calls.append(("disconnect", (reason,)))

    async def send_text(self, text: str) -> SendOutcome:
        """Records the call; sent text is published as the user's final transcript, as the real
        core does, then the scripted replies."""
        self.calls.append(("send_text", (text,)))
        outcome = self.send_outcome(text)
        if outcome.status == "sent":
            self.publish(TranscriptReceived("user", text, True, text, at=_now_of(self)))
            if self.replies is not None:
                self.publish(*self.replies(text))
        return outcome

    async def send_control(
        self, msg_type: str, data: dict[str, Any] | None = None, *, ack_timeout_s: float = 10.0
    ) -> ControlResult:
        """Records the call; a result with a message id is published as MessageSent and (unless
        it timed out) ServerResponseReceived, as the real core does."""
        data = dict(data or {})
        self.calls.append(("send_control", (msg_type, data)))
        reply = self.control_reply or self.default_control_reply
        result = reply(msg_type, data)
        if result.message_id is not None:
            at = _now_of(self)
            self.publish(MessageSent(msg_type, result.message_id, summarize(msg_type, data), at=at))
            if result.status != "timeout":
                self.publish(
                    ServerResponseReceived(
                        msg_type,
                        result.status,
                        result.message,
                        result.extras,
                        result.message_id,
                        at=at,
                    )
                )
        return result

    def default_control_reply(self, msg_type: str, data: dict[str, Any]) -> ControlResult:
        self._control_seq += 1
        extras: dict[str, Any] | None = None
        message = "ok"
        if msg_type == "tts-toggle":
            extras = {"enabled": data["enabled"]}
            message = "TTS enabled" if data["enabled"] else "TTS disabled"
        elif msg_type == "context-update":
            extras = {"token_count": 13, "max_tokens": 50_000, "remaining_tokens": 49_987}
            message = "Context updated"
        return ControlResult("success", message, extras, f"ctl-{self._control_seq}")

    async def reset_idle_timer(self) -> None:
        self.calls.append(("reset_idle_timer", ()))
        if self.auto_ack_idle:
            self.publish(IdleTimerReset(acknowledged=True, at=_now_of(self)))

    def retry_now(self) -> None:
        self.calls.append(("retry_now", ()))

    def toggle_mute(self) -> bool:
        self.calls.append(("toggle_mute", ()))
        self.muted = not getattr(self, "muted", False)
        self.publish(
            AudioLevels(mic_dbfs=-40.0, speaker_dbfs=None, muted=self.muted, at=_now_of(self))
        )
        return self.muted

    def toggle_push_to_talk(self) -> bool:
        self.calls.append(("toggle_push_to_talk", ()))
        return False

    def cancel_retry(self) -> None:
        self.calls.append(("cancel_retry", ()))
        if self.auto_cancel:
            at = _now_of(self)
            old = self._state
            self.publish(
                RetryCancelled(phase="connect", at=at),
                SessionStateChanged(old, SessionState.DISCONNECTING, at=at),
                SessionStateChanged(SessionState.DISCONNECTING, SessionState.DISCONNECTED, at=at),
            )

    def diagnostics(self) -> dict[str, Any]:
        return self.diagnostics_data

    async def close(self) -> None:
        self.calls.append(("close", ()))
        if self._player is not None:
            self._player.cancel()
        self.bus.close()

    # --- driving the script --------------------------------------------------------------------

    def publish(self, *events: Event) -> None:
        for event in events:
            if isinstance(event, SessionStateChanged):
                self._state = event.new
            self.bus.publish(event)

    async def play(self, steps: Iterable[Step]) -> None:
        for step in steps:
            if step.delay_s:
                await asyncio.sleep(step.delay_s)
            self.publish(step.event)
        self.script_done.set()

    def called(self, name: str) -> list[tuple[Any, ...]]:
        return [args for call, args in self.calls if call == name]


def _now_of(session: FakeSession) -> float:
    clock = getattr(session, "clock", None)
    return float(clock()) if callable(clock) else T0

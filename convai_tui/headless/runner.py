"""The headless front end: one JSON object per line on stdout, nothing else.

Exit status: 0 when the session ends cleanly (including --duration, --exit-after-reply and a
Ctrl-C), 1 when it ends in Error (configuration errors included) or a --say message was refused
before it was sent (too large, not connected). On status 1 one line goes to stderr, naming the
error's code, its message and the catalogue's fix, so a script's log says why.

Once the character is ready the controls run first (--trigger, --context, --template-key,
--tts, --stt, in that order, each awaiting its ack, which appears as a `server_response`
line), then the --say messages, one per reply. A reply the trigger started is let finish first.

--duration counts from the first time the session is Connected, so time spent connecting or
in the waiting room does not use it up.

--exit-after-reply ends the run when the reply's turn ends; with --audio on it first lets the
reply's audio play out (the speaker quiet for a moment, bounded), since the user is listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from convai_tui.config import Settings
from convai_tui.core.api.events import (
    AudioLevels,
    BotActivityChanged,
    BotReady,
    ErrorRaised,
    Event,
    LogRecorded,
    SessionEnded,
    SessionStateChanged,
    TranscriptReceived,
)
from convai_tui.core.api.port import ControlResult, SessionPort
from convai_tui.core.api.states import SessionState
from convai_tui.core.conversation.conversation import ends_turn
from convai_tui.core.errors.error import SessionError, make_error
from convai_tui.core.errors.redact import redact
from convai_tui.core.rtvi import controls
from convai_tui.core.rtvi.controls import ControlRequest
from convai_tui.headless.targets import TargetSwitch

TRIGGER_REPLY_GRACE_S = 3.0
"""How long to wait for a trigger's reply to start before sending --say text anyway (a trigger
the character does not know is silently ignored)."""

REPLY_AUDIO_QUIET_S = 0.5
"""With audio on, --exit-after-reply waits until the speaker has been this long quiet..."""
REPLY_AUDIO_MAX_WAIT_S = 10.0
"""...but no longer than this after the reply's turn ended."""
SPEAKER_QUIET_DBFS = -55.0
"""A speaker level below this is the reply's audio played out (silence, or the noise floor)."""


def control_requests(settings: Settings) -> list[ControlRequest]:
    """The controls the flags ask for, in the order they are sent."""
    requests: list[ControlRequest] = [*settings.trigger, *settings.context]
    if settings.template_keys:
        requests.append(controls.template_keys(dict(settings.template_keys)))
    if settings.tts is not None:
        requests.append(controls.tts(settings.tts == "on"))
    if settings.stt is not None:
        requests.append(controls.stt(muted=settings.stt == "off"))
    return requests


class HeadlessRunner:
    """Drives a session from flags: controls, --say messages, --exit-after-reply, --duration."""

    def __init__(
        self,
        session: SessionPort,
        *,
        say: list[str] | None = None,
        exit_after_reply: bool = False,
        duration_s: float | None = None,
        out: TextIO | None = None,
        err: TextIO | None = None,
        controls: Sequence[ControlRequest] = (),
        target: str | None = None,
        audio: bool = False,
    ) -> None:
        self._session = session
        self._say = list(say or [])
        self._next_say = 0
        self._awaiting_reply = False
        self._controls = list(controls)
        self._controls_task: asyncio.Task[None] | None = None
        self._controls_done = not self._controls
        self._trigger_reply_pending = False
        self._replying = False
        self._turn_changed = asyncio.Event()
        self._exit_after_reply = exit_after_reply
        self._duration_s = duration_s
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._errors: list[SessionError] = []
        self._refusals: list[str] = []
        """Why each refused --say was not sent."""
        self._ended_with: SessionError | None = None
        self._audio = audio
        self._speaker_heard_at = 0.0
        self._playout_task: asyncio.Task[None] | None = None
        self._ending = False
        self._end_task: asyncio.Task[None] | None = None
        self._target = TargetSwitch(session, target, self._emit) if target else None

    def _emit(self, event: Event) -> None:
        line = json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":"))
        self._out.write(redact(line) + "\n")
        self._out.flush()

    async def run(self) -> int:
        subscription = self._session.subscribe()
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._end_soon, "interrupted")
                installed.append(sig)
        timer: asyncio.TimerHandle | None = None
        try:
            await self._session.start()
            async for event in subscription:
                self._emit(event)
                if isinstance(event, ErrorRaised):
                    self._errors.append(event.error)
                if isinstance(event, SessionEnded):
                    self._ended_with = event.error
                    break
                if (
                    timer is None
                    and self._duration_s
                    and isinstance(event, SessionStateChanged)
                    and event.new is SessionState.CONNECTED
                ):
                    timer = loop.call_later(self._duration_s, self._end_soon, "duration")
                await self._react(event)
        finally:
            subscription.close()
            for task in (self._controls_task, self._playout_task):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if timer is not None:
                timer.cancel()
            for sig in installed:
                loop.remove_signal_handler(sig)
        failure = self._failure()
        if failure is None:
            return 0
        self._err.write(failure_line(failure) + "\n")
        self._err.flush()
        return 1

    def _failure(self) -> SessionError | None:
        """What made the run fail: the error the session ended in, else the first --say that
        was refused (the error that refused it, when there was one)."""
        if self._session.state is SessionState.ERROR:
            return (
                self._ended_with
                or (self._errors[-1] if self._errors else None)
                or make_error("session.invalid_state", "The session ended in Error.")
            )
        if not self._refusals:
            return None
        reason = self._refusals[0]
        named = [e for e in self._errors if e.message == reason]
        return named[0] if named else make_error("session.input_refused", reason)

    async def _react(self, event: Event) -> None:
        self._track_reply(event)
        level = event.speaker_dbfs if isinstance(event, AudioLevels) else None
        if level is not None and level >= SPEAKER_QUIET_DBFS:
            self._speaker_heard_at = time.monotonic()
        if self._target is not None:
            self._target.observe(event)
        if isinstance(event, BotReady):
            # --target switches first; the controls and --say then go to the new target.
            if self._target is None or not self._target.start(self._on_ready):
                await self._on_ready()
        elif ends_turn(event):
            if not self._controls_done:
                return  # a trigger's reply ended while later controls were still being acked
            self._awaiting_reply = False
            if self._next_say < len(self._say):
                await self._send_next()
            elif self._exit_after_reply:
                self._end_after_reply()

    def _end_after_reply(self) -> None:
        if not self._audio:
            self._end_soon("exit_after_reply")
        elif self._playout_task is None:
            self._playout_task = asyncio.ensure_future(self._end_after_playout())

    async def _end_after_playout(self) -> None:
        turn_ended = time.monotonic()
        while (now := time.monotonic()) - turn_ended < REPLY_AUDIO_MAX_WAIT_S:
            if now - max(self._speaker_heard_at, turn_ended) >= REPLY_AUDIO_QUIET_S:
                break
            await asyncio.sleep(0.05)
        self._end_soon("exit_after_reply")

    async def _on_ready(self) -> None:
        if not self._controls_done:
            if self._controls_task is None:
                self._controls_task = asyncio.ensure_future(self._run_controls())
        elif self._next_say < len(self._say) and not self._awaiting_reply:
            await self._send_next()

    def _track_reply(self, event: Event) -> None:
        """Whether the character is replying, so --say text never talks over a reply; only the
        end of the turn clears it (speech may follow the final text)."""
        if isinstance(event, BotActivityChanged):
            if event.activity in ("thinking", "speaking"):
                self._replying = True
        elif isinstance(event, TranscriptReceived):
            if event.role == "character":
                self._replying = True
        elif ends_turn(event):
            self._replying = False
            self._trigger_reply_pending = False
        else:
            return
        self._turn_changed.set()

    async def _run_controls(self) -> None:
        for request in self._controls:
            if self._ending:
                return
            triggers = request.type == "trigger-message"
            self._trigger_reply_pending |= triggers
            try:
                result = await self._session.send_control(request.type, request.data)
            except Exception as exc:  # a failing control must not stall the --say messages
                self._emit(
                    LogRecorded(
                        level="error",
                        category="controls",
                        message=f"{request.type} failed: {exc!r}",
                    )
                )
                result = ControlResult("refused", str(exc))
            if triggers and result.status not in ("success", "processing", "pending"):
                self._trigger_reply_pending = False
        if self._trigger_reply_pending and not self._replying:
            self._turn_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._turn_changed.wait(), TRIGGER_REPLY_GRACE_S)
        self._controls_done = True
        if self._replying or self._awaiting_reply or self._ending:
            return  # the reply's TurnCompleted sends the first --say (or ends the run)
        if self._next_say < len(self._say):
            await self._send_next()
        elif self._exit_after_reply:
            self._end_soon("exit_after_reply")

    async def _send_next(self) -> None:
        if self._ending:
            return  # --duration ran out (or Ctrl-C): no new text into a closing session
        text = self._say[self._next_say]
        self._next_say += 1
        self._awaiting_reply = True
        outcome = await self._session.send_text(text)
        self._awaiting_reply = outcome.status in ("sent", "queued")
        if outcome.status == "refused":
            self._refusals.append(outcome.reason or "The message was not sent.")
        if not self._awaiting_reply and self._next_say >= len(self._say) and self._exit_after_reply:
            self._end_soon("exit_after_reply")

    def _end_soon(self, reason: str) -> None:
        if not self._ending:
            self._ending = True
            self._end_task = asyncio.ensure_future(self._session.disconnect(reason))


def failure_line(error: SessionError) -> str:
    """One human-readable line for stderr: code, message and what to do about it."""
    text = f"convai-tui: {error.code}: {error.message} Fix: {error.entry.fix}"
    return redact(" ".join(text.split()))

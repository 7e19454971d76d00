"""One scripted session: connect, wait for the character, play each turn in order and wait for
its end, then leave cleanly (kill-pipeline, leave, /disconnect: SessionPort.disconnect)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, Protocol

from convai_tui.core.api.events import (
    BotActivityChanged,
    BotReady,
    ErrorRaised,
    Event,
    LlmNoResponse,
    ModerationResult,
    RoomDetailsReceived,
    SessionEnded,
    TranscriptReceived,
    TurnCompleted,
    TurnTimed,
)
from convai_tui.core.api.port import SessionPort
from convai_tui.eval.results import (
    TIMING_FIELDS,
    SessionResult,
    TurnOutcome,
    TurnResult,
    connection_failed,
    turn_result,
)
from convai_tui.eval.scenario import Scenario, Turn

READY_TIMEOUT_S = 90.0
"""Connect plus bot-ready, as Convai's runner waits for it (a wrong endpoint, character or key
shows up here)."""
LEAVE_TIMEOUT_S = 15.0
REPLY_END_TIMEOUT_S = 60.0
"""Once a reply has started, how long its end may take (it is spoken: seconds); a turn is a
timeout when no reply starts within 3 × its SLA, or when a started one never ends."""
EXTRA_TIMING_FIELDS = ("segments", "input", "outcome")
"""turn_timing's breakdown, kept as given when the event carries it."""


class Microphone(Protocol):
    def play(self, pcm: Any) -> asyncio.Future[float]: ...


class SessionDriver:
    """Plays one scenario on one session; `stop` (Ctrl-C) ends it after the current wait."""

    def __init__(
        self,
        session: SessionPort,
        scenario: Scenario,
        result: SessionResult,
        *,
        stop: asyncio.Event,
        mic: Microphone | None = None,
        on_turn: Callable[[TurnResult], None] = lambda _turn: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._scenario = scenario
        self.result = result
        self._stop = stop
        self._mic = mic
        self._on_turn = on_turn
        self._clock = clock
        self._ready = asyncio.Event()
        self._ended = asyncio.Event()
        self._end_error: str | None = None
        self._last_error: str | None = None
        self._turn_end = asyncio.Event()
        self._reply_started = asyncio.Event()
        self._outcome = TurnOutcome()
        self._sent_at: float | None = None

    async def run(self) -> SessionResult:
        subscription = self._session.subscribe()
        pump = asyncio.ensure_future(self._pump(subscription))
        try:
            await self._session.start()
            if await self._until(self._ready, READY_TIMEOUT_S):
                await self._play_turns()
            elif not self._stop.is_set():
                why = "the character never became ready"
                code = self._end_error or self._last_error or "connection.bot_ready_timeout"
                self._fail_rest(0, code, why)
        finally:
            await self._leave()
            subscription.close()
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        return self.result

    async def _play_turns(self) -> None:
        for turn in self._scenario.turns:
            if self._stop.is_set():
                return
            if self._ended.is_set():
                code = self._end_error or "session.ended"
                self._fail_rest(turn.index, code, "the session ended before this turn")
                return
            result = await self._play(turn)
            if result is None:
                return  # stopped mid-turn: not a result
            self.result.turns.append(result)
            self._on_turn(result)

    def _fail_rest(self, start: int, code: str, why: str) -> None:
        self.result.error_code = self.result.error_code or code
        for turn in self._scenario.turns[start:]:
            failed = connection_failed(
                self.result.index, turn, self._scenario.sla_ms(turn), code, why
            )
            self.result.turns.append(failed)
            self._on_turn(failed)

    async def _play(self, turn: Turn) -> TurnResult | None:
        sla_ms = self._scenario.sla_ms(turn)
        self._outcome = outcome = TurnOutcome()
        self._turn_end.clear()
        self._reply_started.clear()
        self._sent_at = self._clock()
        refused = await self._send(turn)
        if refused is not None:
            outcome.error_code, outcome.detail = refused
            return turn_result(self.result.index, turn, outcome, sla_ms)
        sent_at = self._sent_at
        # no_response: nothing is the answer, so one SLA without a reply starting ends the turn.
        start_within = sla_ms if turn.expect == "no_response" else 3 * sla_ms
        if await self._until(self._reply_started, start_within / 1000):
            await self._until(self._turn_end, REPLY_END_TIMEOUT_S)
        if self._stop.is_set() and not self._turn_end.is_set():
            return None
        if self._ended.is_set() and outcome.ended is None:
            outcome.ended = "session_ended"
            outcome.error_code = self._end_error or "session.ended"
            outcome.detail = "the session ended during the turn"
        if outcome.ended is not None and sent_at is not None:
            end = outcome.figures.pop("_ended_at", None)
            if end is not None:
                outcome.figures["end_to_end_ms"] = round((end - sent_at) * 1000, 1)
        outcome.figures.pop("_ended_at", None)
        return turn_result(self.result.index, turn, outcome, sla_ms)

    async def _send(self, turn: Turn) -> tuple[str, str] | None:
        """Send the turn's input; (code, why) when it could not go out."""
        if turn.kind == "say":
            sent = await self._session.send_text(turn.text)
            if sent.status == "refused":
                return "session.input_refused", sent.reason or "the message was refused"
        elif turn.control is not None:
            control = await self._session.send_control(turn.control.type, turn.control.data)
            if control.status in ("refused", "error", "timeout"):
                return f"control.{control.status}", control.message or control.status
        elif turn.pcm is not None:
            if self._mic is None:
                return "audio.mic_unavailable", "no microphone track for a voice turn"
            clip_done = self._mic.play(turn.pcm)
            try:
                self._sent_at = await clip_done  # the voice turn is timed from the clip's end
            except asyncio.CancelledError:
                return "session.ended", "the microphone track went away"
        return None

    async def _until(self, flag: asyncio.Event, timeout_s: float) -> bool:
        """Wait for `flag`; False when the time ran out, Ctrl-C came or the session ended."""
        waits = [asyncio.ensure_future(e.wait()) for e in (flag, self._stop, self._ended)]
        try:
            await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        return flag.is_set()

    async def _pump(self, subscription: Any) -> None:
        async for event in subscription:
            self._observe(event)

    def _observe(self, event: Event) -> None:
        outcome = self._outcome
        now = self._clock()
        if isinstance(event, RoomDetailsReceived):
            self.result.session_id = event.session_id
            self.result.character_session_id = event.character_session_id
        elif isinstance(event, BotReady):
            self._ready.set()
        elif isinstance(event, ErrorRaised):
            self._last_error = event.error.code
        elif isinstance(event, SessionEnded):
            if event.error is not None:
                self._end_error = event.error.code
            elif self._last_error is not None and not self._ready.is_set():
                self._end_error = self._last_error
            self._ended.set()
        elif isinstance(event, TranscriptReceived) and event.role == "character":
            self._reply_started.set()
            self._since_sent(outcome, "sent_to_first_text_ms", now)
            outcome.reply_text = event.full_text or outcome.reply_text
            if event.final:
                outcome.reply_text = event.text or outcome.reply_text
        elif isinstance(event, BotActivityChanged) and event.activity == "speaking":
            self._reply_started.set()
            outcome.audio = True
            self._since_sent(outcome, "sent_to_first_audio_ms", now)
        elif isinstance(event, TurnTimed):
            self._take_timing(outcome, event)
        elif isinstance(event, TurnCompleted):
            outcome.turn_id = event.turn_id
            outcome.reply_text = event.reply_text or outcome.reply_text
            outcome.was_interrupted = event.was_interrupted or event.was_aborted
            self._end(outcome, "completed", now)
        elif isinstance(event, LlmNoResponse):
            self._end(outcome, "no_response", now)
        elif isinstance(event, ModerationResult) and not event.passed:
            self._end(outcome, "blocked", now)

    def _since_sent(self, outcome: TurnOutcome, name: str, now: float) -> None:
        """The runner's own clock, for turns turn_timing does not time (triggers); a
        turn_timing figure replaces it."""
        if self._sent_at is not None and name not in outcome.figures:
            outcome.figures[name] = round((now - self._sent_at) * 1000, 1)

    def _take_timing(self, outcome: TurnOutcome, event: TurnTimed) -> None:
        for name in (*TIMING_FIELDS, *EXTRA_TIMING_FIELDS):
            value = getattr(event, name, None)
            if value is not None:
                outcome.figures[name] = value
        if event.sent_to_first_audio_ms is not None or event.user_stop_to_speech_ms is not None:
            outcome.audio = True
        server_turn_id = getattr(event, "turn_id", None)
        if server_turn_id is not None:  # the server's own id for the turn, what support looks up
            outcome.server_turn_id = str(server_turn_id)

    def _end(self, outcome: TurnOutcome, how: str, now: float) -> None:
        if outcome.ended is None:
            outcome.ended = how
            outcome.figures["_ended_at"] = now
        self._reply_started.set()  # an answer of no reply (abstaining, blocked) is one too
        self._turn_end.set()

    async def _leave(self) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(LEAVE_TIMEOUT_S):
                await self._session.disconnect("eval")

"""Per-turn latency as the user feels it, and where the time went.

A turn starts when typed text or a trigger leaves (`sent`), or, for a voice turn, at the end of
the user's speech: the microphone VAD's end minus its hangover when the audio pipeline reports
it (`speech_ended`), else the server's user-stopped-speaking arrival. It ends at the first
audible frame handed to the speaker (`played`, end "played"), else at the first audio frame
received or the server's bot-started-speaking (end "received").

Between the two, every mark the client saw (server message arrivals, audio frames) cuts the
turn into consecutive segments, so the parts add up to the total by construction (turn_parts.py
names and owns them). When the server sent a `turn-trace`, its stage figures replace the
arrival deltas they correspond to and the difference is shown as network time (estimated).

The three original figures (sent → first text, sent → first audio, user stopped → speech) are
kept as they were: arrivals of server messages. One `TurnTimed` event per turn; nothing when no
figure was measured. With server debug on, a finished turn waits for its turn-trace (matched by
its turn_id when the server repeats one, else by order) until the next turn starts or the
session ends.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from convai_tui.core.api.events import Event, TurnTimed
from convai_tui.core.conversation.turn_parts import TurnMarks, segments_of

_FIRST_TEXT = frozenset({"bot-llm-text", "bot-transcription"})
_SPEAKING = frozenset({"bot-started-speaking", "bot-tts-started"})
_TURN_END = frozenset({"bot-turn-completed", "llm-no-response"})
_INPUT_DONE = frozenset({"user-stopped-speaking", "final-user-transcription"})

VOICE_START_WINDOW_S = 5.0
"""A microphone end of speech older than this is not the start of the turn the server reports."""


def _ms(start: float | None, end: float | None) -> float | None:
    if start is None or end is None or end < start:
        return None
    return round((end - start) * 1000, 1)


class TurnTimer:
    """Times one turn at a time; a new send or utterance starts the next one."""

    def __init__(
        self,
        publish: Callable[[Event], None],
        clock: Callable[[], float] = time.monotonic,
        *,
        sla_voice_ms: int = 3000,
        sla_text_ms: int = 1200,
        expect_trace: bool = False,
        vad_stop_s: float | None = None,
    ) -> None:
        self._publish = publish
        self._clock = clock
        self._sla = {"voice": sla_voice_ms, "text": sla_text_ms, "trigger": sla_text_ms}
        self._expect_trace = expect_trace
        self._vad_stop_s = vad_stop_s
        self._turns = 0
        self._current: TurnMarks | None = None
        self._awaiting_trace: deque[TurnMarks] = deque()
        self._speech_end_at: float | None = None

    def configure(self, *, expect_trace: bool, vad_stop_s: float | None) -> None:
        """What the connect request asked for (debug streams, the VAD's stop wait)."""
        self._expect_trace = expect_trace
        self._vad_stop_s = vad_stop_s

    # --- inputs -----------------------------------------------------------------------------

    def sent(self, input_kind: str = "text") -> None:
        """Typed text (or a trigger) was sent: a turn's clock starts now."""
        self._start(TurnMarks(input=input_kind, start=self._clock()))

    def speech_ended(self, at: float) -> None:
        """The microphone's VAD heard the user stop (hangover already subtracted), on this
        timer's clock: the start of the voice turn the server is about to report."""
        self._speech_end_at = at

    def audio_received(self, at: float | None = None) -> None:
        """A frame of the character's audio arrived (the first one of a turn counts)."""
        turn, at = self._current, self._clock() if at is None else at
        # Audio and data travel apart: the sound may come before bot-started-speaking does.
        if turn is not None and turn.audio_received is None and at >= turn.start:
            turn.audio_received = at

    def played(self, at: float | None = None) -> None:
        """The first audible frame of the reply left for the speaker."""
        turn, at = self._current, self._clock() if at is None else at
        if turn is not None and turn.played is None and at >= turn.start:
            turn.played = at

    def mark(self, kind: str, at: float) -> None:
        """A mark from the audio side (core.link.media.TurnMarkSink)."""
        if kind == "speech_ended":
            self.speech_ended(at)
        elif kind == "audio_received":
            self.audio_received(at)
        elif kind == "played":
            self.played(at)

    def message(self, msg_type: str, data: Mapping[str, Any] | None = None) -> None:
        now = self._clock()
        fields = data or {}
        turn = self._current
        if msg_type == "turn-trace":
            self._trace(dict(fields))
            return
        if msg_type == "user-stopped-speaking" and (turn is None or turn.input == "voice"):
            # The server echoes typed text as a short "utterance"; that turn is timed from send.
            if turn is None or "speech_announced" in turn.marks:
                self._start_voice(now)
            turn = self._current
        if turn is None:
            return
        if turn.input == "voice" and msg_type == "final-user-transcription":
            turn.mark("transcript", now)  # after the server's end of turn: its STT's share
        elif msg_type in _INPUT_DONE:
            turn.mark("input_done", now)
        elif msg_type == "bot-llm-started":
            turn.mark("llm_started", now)
        elif msg_type in _FIRST_TEXT:
            turn.mark("first_text", now)
        elif msg_type == "bot-tts-started":
            turn.mark("tts_started", now)
        if msg_type in _SPEAKING:
            turn.mark("speech_announced", now)  # the original figure takes either message
        if msg_type == "bot-started-speaking" and turn.speaking is None:
            turn.speaking = now
        if msg_type in _TURN_END:
            if fields.get("was_interrupted"):
                turn.outcome = "interrupted"
            elif fields.get("was_aborted"):
                turn.outcome = "aborted"
            elif msg_type == "llm-no-response":
                turn.outcome = "no_response"
            self._finish()

    def flush(self) -> None:
        """The session ends: publish what is still waiting for a trace."""
        while self._awaiting_trace:
            self._emit(self._awaiting_trace.popleft())

    # --- internals --------------------------------------------------------------------------

    def _start_voice(self, now: float) -> None:
        spoke = self._speech_end_at
        from_mic = spoke is not None and 0 <= now - spoke <= VOICE_START_WINDOW_S
        turn = TurnMarks(input="voice", start=spoke if from_mic and spoke else now)
        turn.start_source = "mic" if from_mic else "server"
        turn.user_stopped = now
        self._speech_end_at = None
        self._start(turn)

    def _start(self, turn: TurnMarks) -> None:
        previous = self._current
        if previous is not None:
            previous.outcome = "interrupted" if "speech_announced" in previous.marks else "canceled"
            self._current = None
            self._done(previous)
        self.flush()
        self._current = turn

    def _finish(self) -> None:
        turn, self._current = self._current, None
        if turn is not None:
            self._done(turn)

    def _done(self, turn: TurnMarks) -> None:
        if self._expect_trace and turn.server is None:
            self._awaiting_trace.append(turn)
        else:
            self._emit(turn)

    def _trace(self, fields: dict[str, Any]) -> None:
        turn_id = fields.get("turn_id")
        candidates = [*self._awaiting_trace, *([self._current] if self._current else [])]
        match = next((t for t in candidates if turn_id and t.server_turn_id == turn_id), None)
        if match is None:
            match = next((t for t in candidates if t.server is None), None)
        if match is None:
            return
        match.server = fields
        match.server_turn_id = turn_id if isinstance(turn_id, str) else None
        if fields.get("was_canceled") and match.outcome == "completed":
            match.outcome = "canceled"
        if match in self._awaiting_trace:
            self._awaiting_trace.remove(match)
            self._emit(match)

    def _emit(self, turn: TurnMarks) -> None:
        start = turn.start if turn.input != "voice" else None
        first_audio = turn.marks.get("speech_announced")
        if turn.speaking is None:  # a server that never says bot-started-speaking
            turn.speaking = turn.marks.get("speech_announced")
        old = (
            _ms(start, turn.marks.get("first_text")),
            _ms(start, first_audio),
            _ms(turn.user_stopped, first_audio) if turn.input == "voice" else None,
        )
        parts = segments_of(turn, self._vad_stop_s)
        if parts.total_ms is None and all(v is None for v in old):
            return
        self._turns += 1
        sla = self._sla.get(turn.input, self._sla["text"])
        self._publish(
            TurnTimed(
                turn=self._turns,
                sent_to_first_text_ms=old[0],
                sent_to_first_audio_ms=old[1],
                user_stop_to_speech_ms=old[2],
                turn_id=turn.server_turn_id,
                input=turn.input,
                outcome=turn.outcome,
                total_ms=parts.total_ms,
                end=parts.end,
                segments=parts.segments,
                server=turn.server,
                sla_ms=sla,
                over_sla=None if parts.total_ms is None else parts.total_ms > sla,
            )
        )

"""Per-turn latency as the user feels it: typed text sent → the reply's first text, sent → the
character's voice starting, and (voice turns) the user stopped speaking → the character started
speaking. One `TurnTimed` event when the turn ends; nothing when no figure was measured.

Fed by the session: `sent()` when a typed message leaves, `message(type)` for every inbound
RTVI message type. "Started speaking" is the server's bot-started-speaking / bot-tts-started
message, not the audio frames, so nothing runs per audio frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from convai_tui.core.api.events import Event, TurnTimed

_FIRST_TEXT = frozenset({"bot-llm-text", "bot-transcription"})
_FIRST_AUDIO = frozenset({"bot-started-speaking", "bot-tts-started"})
_TURN_END = frozenset({"bot-turn-completed", "llm-no-response"})


def _ms(start: float | None, end: float | None) -> float | None:
    if start is None or end is None or end < start:
        return None
    return round((end - start) * 1000, 1)


class TurnTimer:
    """Times one turn at a time; a new send or utterance restarts the clock."""

    def __init__(
        self, publish: Callable[[Event], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._publish = publish
        self._clock = clock
        self._turns = 0
        self._reset()

    def _reset(self) -> None:
        self._sent_at: float | None = None
        self._user_stop_at: float | None = None
        self._first_text_at: float | None = None
        self._first_audio_at: float | None = None

    def sent(self) -> None:
        """A typed message was sent: the turn's clock starts now."""
        self._reset()
        self._sent_at = self._clock()

    def message(self, msg_type: str) -> None:
        now = self._clock()
        if msg_type == "user-stopped-speaking":
            # The server echoes typed text as a short "utterance"; that turn is timed from send.
            if self._sent_at is None:
                self._user_stop_at = now
                self._first_text_at = self._first_audio_at = None
        elif msg_type in _FIRST_TEXT and self._first_text_at is None:
            self._first_text_at = now
        elif msg_type in _FIRST_AUDIO and self._first_audio_at is None:
            self._first_audio_at = now
        elif msg_type in _TURN_END:
            self._finish()

    def _finish(self) -> None:
        start = self._sent_at
        timed = TurnTimed(
            turn=self._turns + 1,
            sent_to_first_text_ms=_ms(start, self._first_text_at),
            sent_to_first_audio_ms=_ms(start, self._first_audio_at),
            user_stop_to_speech_ms=_ms(self._user_stop_at, self._first_audio_at),
        )
        self._reset()
        if (
            timed.sent_to_first_text_ms is None
            and timed.sent_to_first_audio_ms is None
            and timed.user_stop_to_speech_ms is None
        ):
            return
        self._turns += 1
        self._publish(timed)

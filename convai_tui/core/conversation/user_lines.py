"""One transcript line per user utterance, as the web SDK shows them.

`user-transcription` interim results update one live line (non-final events); finals of the
same utterance merge into it, joined by single spaces; the utterance's line is final when
`final-user-transcription` arrives (its text is the whole utterance) or, if none comes, when
the character starts answering (then with its finals, or its last interim text if it had no
final at all). A `final-user-transcription` repeating a line already shown
is dropped whatever its punctuation or casing, as is the server's echo of typed text.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable

from convai_tui.core.api.events import Event, TranscriptReceived
from convai_tui.core.rtvi import protocol

ECHO_WINDOW_S = 3.0
"""Unity's TypedEchoSuppressionWindowSeconds; also how long a shown final counts as repeated."""

_NOT_WORDS = re.compile(r"[^\w\s]+")


def normalized(text: str) -> str:
    """The words of `text`, lower-cased, without punctuation: what makes two finals the same."""
    return " ".join(_NOT_WORDS.sub(" ", text.casefold()).split())


class UserLines:
    def __init__(self, publish: Callable[[Event], None], turn_id: Callable[[], int]) -> None:
        self._publish = publish
        self._turn_id = turn_id
        self._typed: deque[tuple[str, float]] = deque(maxlen=8)
        self._shown: deque[tuple[str, float]] = deque(maxlen=8)
        self._segments: list[str] = []
        self._interim = ""
        """The live line of an utterance that has had only interim results so far."""
        self._speaker: str | None = None

    def typed(self, text: str) -> None:
        """The user typed and sent `text` (shown at once); its echo is expected."""
        self._typed.append((normalized(text), time.monotonic()))
        self._publish(
            TranscriptReceived(
                role="user", text=text, final=True, full_text=text, turn_id=self._turn_id() + 1
            )
        )

    def handle(self, msg: protocol.InboundMessage) -> bool:
        """`user-transcription` / `final-user-transcription`; True when a final line was shown
        (the moment the user's turn ended, for reply timing)."""
        text = (protocol.field_str(msg, "text", required=True) or "").strip()
        speaker = protocol.field_str(msg, "speaker_name") or protocol.field_str(
            msg, "participant_id"
        )
        if not text:
            return False
        if self._recent(self._typed, text):  # the echo of typed text, shown when sent
            if msg.type == "final-user-transcription":
                self._segments, self._interim = [], ""
            return False
        self._speaker = speaker or self._speaker
        if msg.type == "final-user-transcription":
            merged, self._segments, self._interim = " ".join(self._segments), [], ""
            if merged and normalized(text) in normalized(merged):
                text = merged  # a final for the last segment only: the line keeps them all
            return self._show_final(text)
        live = " ".join([*self._segments, text])
        if protocol.field_bool(msg, "final", False):
            self._segments.append(text)
            self._interim = ""
        else:
            self._interim = live
        self._publish(
            TranscriptReceived(
                role="user",
                text=text,
                final=False,
                full_text=live,
                turn_id=self._turn_id() + 1,
                speaker=self._speaker,
            )
        )
        return False

    def close(self) -> bool:
        """The character answers: an utterance without final-user-transcription ends here,
        with its final segments, or else its last interim text: every answered turn keeps the
        user's line."""
        text = " ".join(self._segments) or self._interim
        self._segments, self._interim = [], ""
        if not text:
            return False
        return not self._recent(self._typed, text) and self._show_final(text)

    def _show_final(self, text: str) -> bool:
        speaker, self._speaker = self._speaker, None
        if self._recent(self._shown, text):
            return False
        self._shown.append((normalized(text), time.monotonic()))
        self._publish(
            TranscriptReceived(
                role="user",
                text=text,
                final=True,
                full_text=text,
                turn_id=self._turn_id() + 1,
                speaker=speaker,
            )
        )
        return True

    @staticmethod
    def _recent(seen: deque[tuple[str, float]], text: str) -> bool:
        key, now = normalized(text), time.monotonic()
        return any(t == key and now - at < ECHO_WINDOW_S for t, at in seen)

"""Audio error codes and the exception that carries one.

The codes are the ``audio.*`` entries of ``convai_tui.core.errors.error.CATALOGUE``; this module keeps
plain strings so the audio package stays independent of the session core.
"""

from __future__ import annotations

from collections.abc import Callable

MIC_UNAVAILABLE = "audio.mic_unavailable"
MIC_PERMISSION_DENIED = "audio.mic_permission_denied"
MIC_PUBLISH_FAILED = "audio.mic_publish_failed"
MIC_STALLED = "audio.mic_stalled"
SPEAKER_UNAVAILABLE = "audio.speaker_unavailable"
PLAYBACK_DROPPING = "audio.playback_dropping"

ALL_CODES: tuple[str, ...] = (
    MIC_UNAVAILABLE,
    MIC_PERMISSION_DENIED,
    MIC_PUBLISH_FAILED,
    MIC_STALLED,
    SPEAKER_UNAVAILABLE,
    PLAYBACK_DROPPING,
)

ProblemCallback = Callable[[str, str], None]
"""``on_problem(code, message)``: how the pipeline reports trouble without raising."""


class AudioError(Exception):
    """An audio failure with a catalogue code; the session continues without that direction."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

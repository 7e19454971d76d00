"""The Diagnostics audio table counts the lines native libraries wrote to stderr while the
monitor ran (they went to the log instead of over the screen)."""

from __future__ import annotations

from convai_tui.audio import AudioSettings
from convai_tui.audio.session_media import SessionAudio
from convai_tui.runtime import native_stderr


def test_audio_stats_count_the_native_stderr_lines_logged() -> None:
    audio = SessionAudio(AudioSettings(), emit=lambda _e: None, report=lambda _c, _m: None)
    before = audio.stats()["native_stderr_lines"]
    native_stderr._log_line(b"ALSA lib pcm.c:8570:(snd_pcm_recover) underrun occurred")
    native_stderr._log_line(b"   ")  # blank lines are not counted
    assert audio.stats()["native_stderr_lines"] == before + 1

"""The audio pipeline's turn marks: the mic VAD's end of speech (hangover excluded, input
latency subtracted) and a reply's first audible frame in, handed out as (kind, time)."""

from __future__ import annotations

import numpy as np

from convai_tui.audio.pipeline import AudioPipeline
from convai_tui.audio.settings import AudioSettings


def test_mic_end_of_speech_is_the_last_voiced_moment_not_the_vad_decision() -> None:
    marks: list[tuple[str, float]] = []
    pipeline = AudioPipeline(
        AudioSettings(aec=False), lambda *_: None, lambda k, t: marks.append((k, t))
    )
    loud = (np.sin(np.arange(480) / 3) * 8000).astype(np.int16)
    quiet = np.zeros(480, dtype=np.int16)
    t = 100.0
    for frame in [loud] * 50 + [quiet] * 40:  # 0.5 s of voice, then 0.4 s of silence
        t += 0.01
        pipeline._capture_pcm[:] = frame
        pipeline._mark_speech_end(t)
    [(kind, at)] = marks
    assert kind == "speech_ended"
    assert abs(at - 100.5) < 0.011  # the last voiced frame's end, not +300 ms of hangover

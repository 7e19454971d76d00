"""The audio pipeline's turn marks: the mic VAD's end of speech (hangover excluded, input
latency subtracted, heard on the raw microphone) and a reply's first audible frame in, handed
out as (kind, time)."""

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
        pipeline._mark_speech_end(frame, t)
    [(kind, at)] = marks
    assert kind == "speech_ended"
    assert abs(at - 100.5) < 0.011  # the last voiced frame's end, not +300 ms of hangover


class Sender:
    def __init__(self) -> None:
        self.sent = 0

    def send(self, pcm: object) -> None:
        self.sent += 1


class LingeringApm:
    """An echo canceller whose output rings on after the input stops (as WebRTC's noise
    suppression and gain control do for ~30 ms after an abrupt end)."""

    def __init__(self, frame_samples: int) -> None:
        self.capture = np.zeros(frame_samples, dtype=np.int16)

    def set_stream_delay_ms(self, ms: int) -> None:
        pass

    def process_capture(self) -> None:
        self.capture[:] = 8000


def voiced_then_silent(pipeline: AudioPipeline, start: float) -> None:
    loud = (np.sin(np.arange(480) / 3) * 8000).astype(np.int16)
    quiet = np.zeros(480, dtype=np.int16)
    t = start
    for frame in [loud] * 50 + [quiet] * 40:
        t += 0.01
        pipeline._on_mic_frame(frame, t + 0.02, 0.02)  # each frame read 20 ms after its end


def test_the_end_of_speech_is_heard_on_the_raw_microphone_not_the_processed_signal() -> None:
    marks: list[tuple[str, float]] = []
    pipeline = AudioPipeline(
        AudioSettings(aec=False), lambda *_: None, lambda k, t: marks.append((k, t))
    )
    apm = LingeringApm(pipeline.frame_samples)
    pipeline._apm = apm  # type: ignore[assignment]
    pipeline._capture_pcm = apm.capture
    pipeline._sender = Sender()  # type: ignore[assignment]
    voiced_then_silent(pipeline, 100.0)
    [(kind, at)] = marks
    assert kind == "speech_ended" and abs(at - 100.5) < 0.011


def test_a_muted_microphone_marks_no_end_of_speech() -> None:
    marks: list[tuple[str, float]] = []
    pipeline = AudioPipeline(
        AudioSettings(aec=False), lambda *_: None, lambda k, t: marks.append((k, t))
    )
    pipeline._sender = Sender()  # type: ignore[assignment]
    pipeline.set_muted(True)
    voiced_then_silent(pipeline, 100.0)
    assert marks == []

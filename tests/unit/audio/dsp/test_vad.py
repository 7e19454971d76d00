"""EnergyVad: utterance counting and durations on synthetic tone bursts."""

from __future__ import annotations

import numpy as np
import pytest

from convai_tui.audio.dsp.framing import split_frames
from convai_tui.audio.dsp.synth import silence, tone, white_noise
from convai_tui.audio.dsp.vad import EnergyVad, VadEvent

RATE = 48_000


def run(vad: EnergyVad, pcm: np.ndarray) -> list[VadEvent]:
    frames, _ = split_frames(pcm, 480)
    events: list[VadEvent] = []
    for frame in frames:
        events.extend(vad.feed(frame))
    events.extend(vad.flush())
    return events


def test_tone_bursts_give_one_utterance_each_with_true_durations() -> None:
    bursts = [0.8, 1.2, 0.5]
    parts = [silence(0.5)]
    starts = []
    t = 0.5
    for dur in bursts:
        starts.append(t)
        parts.append(tone(300.0, dur, amplitude=0.3))
        parts.append(silence(0.7))
        t += dur + 0.7
    pcm = np.concatenate(parts)
    pcm = (pcm.astype(np.int32) + white_noise(len(pcm) / RATE, 0.002)).clip(-32768, 32767)
    events = run(EnergyVad(RATE), pcm.astype(np.int16))
    kinds = [e.kind for e in events]
    assert kinds == ["speech_started", "speech_stopped"] * 3
    stops = [e for e in events if e.kind == "speech_stopped"]
    begins = [e for e in events if e.kind == "speech_started"]
    for stop, begin, dur, start in zip(stops, begins, bursts, starts, strict=True):
        assert stop.duration_s == pytest.approx(dur, abs=0.03)
        assert begin.at_s == pytest.approx(start, abs=0.02)


def test_short_pause_inside_an_utterance_does_not_split_it() -> None:
    pcm = np.concatenate(
        [tone(300.0, 0.4, 0.3), silence(0.15), tone(300.0, 0.4, 0.3), silence(0.6)]
    )
    events = run(EnergyVad(RATE, hangover_ms=300), pcm)
    assert [e.kind for e in events] == ["speech_started", "speech_stopped"]
    assert events[1].duration_s == pytest.approx(0.95, abs=0.03)


def test_noise_floor_and_clicks_are_ignored() -> None:
    noise = white_noise(3.0, 0.003, seed=1)  # about -50 dBFS
    click = np.zeros_like(noise)
    click[RATE : RATE + 480] = 20000  # one 10 ms click
    pcm = (noise.astype(np.int32) + click).clip(-32768, 32767).astype(np.int16)
    assert run(EnergyVad(RATE), pcm) == []


def test_steady_loud_noise_is_learnt_then_speech_above_it_is_found() -> None:
    vad = EnergyVad(RATE)
    fan = white_noise(8.0, 0.02, seed=2)  # about -34 dBFS: above the absolute threshold
    frames, _ = split_frames(fan[: 6 * RATE], 480)
    for frame in frames:
        vad.feed(frame)
    assert not vad.in_speech  # after 6 s the fan is part of the noise floor
    speech = np.zeros(2 * RATE, dtype=np.int32)
    speech[RATE // 2 : RATE] = tone(300.0, 0.5, 0.4)
    rest = (fan[6 * RATE :].astype(np.int32) + speech).clip(-32768, 32767).astype(np.int16)
    events = run(vad, rest)
    assert [e.kind for e in events] == ["speech_started", "speech_stopped"]
    assert events[0].at_s == pytest.approx(6.5, abs=0.03)
    assert events[1].duration_s == pytest.approx(0.5, abs=0.03)


def test_flush_closes_an_open_utterance_and_reset_forgets() -> None:
    vad = EnergyVad(RATE)
    frames, _ = split_frames(tone(300.0, 0.3, 0.3), 480)
    for f in frames:
        vad.feed(f)
    assert vad.in_speech
    (stop,) = vad.flush()
    assert stop.duration_s == pytest.approx(0.3, abs=0.02)
    vad.reset()
    assert vad.stream_time_s == 0 and vad.noise_floor_dbfs is None and not vad.in_speech

"""Each demo character sounds different: its own espeak voice and a tone band of its own."""

from __future__ import annotations

import itertools

import numpy as np

from convai_tui.cli.room_flags import DEMO_CAST
from convai_tui.local.character import speech


def _dominant_hz(pcm: speech.Pcm) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64)))
    return float(np.fft.rfftfreq(pcm.size, 1 / speech.SAMPLE_RATE)[int(np.argmax(spectrum))])


def test_demo_cast_voices_are_distinct() -> None:
    voices = [speech.voice_for(cid) for cid, _ in DEMO_CAST]
    assert len({v.espeak for v in voices}) == len(voices)
    bands = sorted(v.tone_band_hz for v in voices)
    for (_, high), (low, _) in itertools.pairwise(bands):
        assert high < low  # no two bands overlap


def test_tone_pattern_stays_in_the_voice_band() -> None:
    for cid, _ in DEMO_CAST:
        voice = speech.voice_for(cid)
        low, high = voice.tone_band_hz
        pcm = speech.tone_pattern("one", voice.tone_hz)  # one word: one beep at the base
        assert low - 10 <= _dominant_hz(pcm) <= high + 10


def test_unknown_ids_get_a_stable_voice() -> None:
    assert speech.voice_for("someone-else") == speech.voice_for("someone-else")
    assert speech.voice_for("someone-else") in speech.VOICES

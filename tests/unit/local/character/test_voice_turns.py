"""The stand-in's voice turns: one spoken sentence, pauses and all, is one utterance; each
utterance's placeholder transcript is its own."""

from __future__ import annotations

import numpy as np

from convai_tui.audio.dsp.vad import EnergyVad
from convai_tui.local.character.voice import (
    HANGOVER_S,
    SAMPLE_RATE,
    hangover_s,
    make_vad,
    placeholder_transcript,
)

FRAME = SAMPLE_RATE // 100  # 10 ms


def _sentence_with_pauses() -> list[np.ndarray]:
    """3.8 s: words of 0.5-0.7 s separated by the 0.25-0.6 s pauses of a spoken sentence."""
    rng = np.random.default_rng(7)
    pattern = [
        (0.6, True),
        (0.25, False),
        (0.5, True),
        (0.6, False),
        (0.7, True),
        (0.4, False),
        (0.5, True),
        (0.25, False),
    ]
    frames: list[np.ndarray] = []
    for seconds, voiced in pattern:
        for _ in range(round(seconds * 100)):
            amp = 6000 if voiced else 30
            frames.append((rng.standard_normal(FRAME) * amp).astype(np.int16))
    return frames


def _utterances(vad: EnergyVad, frames: list[np.ndarray]) -> list[float]:
    silence = [np.zeros(FRAME, dtype=np.int16)] * 200
    stops = []
    for frame in [*frames, *silence]:
        stops += [e.duration_s for e in vad.feed(frame) if e.kind == "speech_stopped"]
    return stops


def test_one_sentence_with_pauses_is_one_utterance() -> None:
    stops = _utterances(make_vad({}), _sentence_with_pauses())
    assert len(stops) == 1 and 3.0 < stops[0] < 4.0
    # the hangover this replaces split it
    assert len(_utterances(EnergyVad(SAMPLE_RATE, hangover_ms=300), _sentence_with_pauses())) > 1


def test_the_client_vad_params_stop_secs_sets_the_hangover() -> None:
    assert hangover_s({}) == HANGOVER_S == 0.8
    assert hangover_s({"vad_params": {"stop_secs": 1.5}}) == 1.5
    assert hangover_s({"vad_params": {"stop_secs": "x"}}) == HANGOVER_S
    assert hangover_s({"vad_params": {"stop_secs": 60}}) == HANGOVER_S


def test_placeholders_of_equal_length_differ() -> None:
    assert placeholder_transcript(1.2, 2) != placeholder_transcript(1.2, 3)
    assert placeholder_transcript(1.44, 1) == "[speech 1: 1.4 s]"

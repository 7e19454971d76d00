"""The echo mode's gate: an idle link's comfort noise is answered with digital silence (so the
encoder can go quiet, as a real idle bot's does); anything audible is echoed from its first frame,
with its quiet tail and a faint echo of the echo one round trip later."""

from __future__ import annotations

import numpy as np

from convai_tui.audio.dsp.synth import tone
from convai_tui.local.character.voice import ECHO_OPEN_PEAK, SAMPLE_RATE, EchoGate

FRAME = SAMPLE_RATE // 100  # 10 ms


def _noise(peak: int, frames: int = 1, seed: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-peak, peak + 1, FRAME).astype(np.int16) for _ in range(frames)]


def test_comfort_noise_is_not_echoed() -> None:
    gate = EchoGate()
    assert not any(gate.passes(frame) for frame in _noise(11, frames=300))


def test_an_audible_frame_is_echoed_from_the_first_and_the_gate_holds_one_second() -> None:
    gate = EchoGate()
    chirp = tone(1000.0, 0.01, amplitude=0.5)
    assert gate.passes(chirp)
    quiet = _noise(ECHO_OPEN_PEAK - 1, frames=120)
    passed = [gate.passes(frame) for frame in quiet]
    assert passed[:100] == [True] * 100  # 1 s of tail (and the echo of the echo) goes through
    assert not any(passed[101:])
    assert gate.passes(chirp)  # audible again: open again at once


def test_silence_and_empty_frames_stay_closed() -> None:
    gate = EchoGate()
    assert not gate.passes(np.zeros(FRAME, dtype=np.int16))
    assert not gate.passes(np.zeros(0, dtype=np.int16))

"""A reply's first audible block after a silence is an onset; its continuation is not."""

from __future__ import annotations

import numpy as np

from convai_tui.audio.dsp.onset import Onset


def _block(peak: int) -> np.ndarray:
    block = np.zeros(480, dtype=np.int16)
    block[10] = peak
    return block


def test_onset_after_silence_only() -> None:
    onset = Onset(gap_s=0.3)
    assert not onset.feed(_block(20), 0.0)  # codec noise
    assert onset.feed(_block(5000), 1.0)
    assert not onset.feed(_block(5000), 1.01)  # the same sound going on
    assert not onset.feed(_block(0), 1.2)
    assert not onset.feed(_block(5000), 1.25)  # a pause within the reply
    assert onset.feed(_block(-32768), 2.0)  # the next reply; the most negative sample is audible

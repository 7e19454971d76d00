"""dBFS levels and the window meter."""

from __future__ import annotations

import math

import numpy as np
import pytest

from convai_tui.audio.dsp.levels import (
    DBFS_FLOOR,
    LevelMeter,
    amplitude_to_dbfs,
    peak_dbfs,
    rms_dbfs,
)
from convai_tui.audio.dsp.synth import tone


@pytest.mark.parametrize("amplitude", [1.0, 0.5, 0.1, 0.01, 0.001])
def test_sine_levels_match_theory(amplitude: float) -> None:
    # 1 kHz at 48 kHz: a whole number of cycles per 10 ms block, and samples hit the crest.
    block = tone(1000.0, 0.1, amplitude=min(amplitude, 32767 / 32768))
    expected_peak = 20 * math.log10(amplitude)
    expected_rms = expected_peak - 20 * math.log10(math.sqrt(2))  # -3.01 dB
    assert peak_dbfs(block) == pytest.approx(expected_peak, abs=0.1)
    assert rms_dbfs(block) == pytest.approx(expected_rms, abs=0.1)


def test_half_scale_values_exactly() -> None:
    block = tone(1000.0, 0.01, amplitude=0.5)
    assert peak_dbfs(block) == pytest.approx(-6.02, abs=0.05)
    assert rms_dbfs(block) == pytest.approx(-9.03, abs=0.05)


def test_silence_is_clamped_to_floor() -> None:
    zeros = np.zeros(480, dtype=np.int16)
    assert peak_dbfs(zeros) == DBFS_FLOOR
    assert rms_dbfs(zeros) == DBFS_FLOOR
    assert amplitude_to_dbfs(1e-9) == DBFS_FLOOR
    assert rms_dbfs(np.zeros(0, dtype=np.int16)) == DBFS_FLOOR


def test_most_negative_sample_does_not_wrap() -> None:
    block = np.array([-32768, 0], dtype=np.int16)
    assert peak_dbfs(block) == pytest.approx(0.0, abs=1e-6)


def test_meter_publishes_only_complete_windows_and_keeps_peaks() -> None:
    meter = LevelMeter(48_000, window_ms=100)
    quiet = tone(1000.0, 0.01, amplitude=0.01)
    loud = tone(1000.0, 0.01, amplitude=0.5)
    for _ in range(9):
        meter.update(quiet)
    assert meter.latest() is None
    meter.update(loud)  # tenth block completes the window
    level = meter.latest()
    assert level is not None
    assert level.peak_dbfs == pytest.approx(-6.02, abs=0.1)  # one loud block is not lost
    mean_sq = (9 * (0.01**2) / 2 + (0.5**2) / 2) / 10
    assert level.rms_dbfs == pytest.approx(10 * math.log10(mean_sq), abs=0.1)
    for _ in range(10):
        meter.update(quiet)
    level = meter.latest()
    assert level is not None and level.peak_dbfs == pytest.approx(-40.0, abs=0.1)
    meter.reset()
    assert meter.latest() is None

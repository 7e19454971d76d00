"""Test signals: tones and noise as int16, for harnesses and the local stand-in."""

from __future__ import annotations

import numpy as np

from .framing import DEFAULT_SAMPLE_RATE, Int16Array

FULL_SCALE = 32768.0


def tone(
    freq_hz: float,
    duration_s: float,
    amplitude: float = 0.5,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    phase: float = 0.0,
) -> Int16Array:
    """A sine of peak ``amplitude`` (fraction of full scale) lasting ``duration_s``."""
    n = round(duration_s * sample_rate)
    t = np.arange(n, dtype=np.float64) / sample_rate
    y = amplitude * FULL_SCALE * np.sin(2 * np.pi * freq_hz * t + phase)
    return np.clip(np.rint(y), -32768, 32767).astype(np.int16)


def silence(duration_s: float, sample_rate: int = DEFAULT_SAMPLE_RATE) -> Int16Array:
    """Digital silence."""
    return np.zeros(round(duration_s * sample_rate), dtype=np.int16)


def white_noise(
    duration_s: float,
    rms_fraction: float,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    seed: int = 0,
) -> Int16Array:
    """Gaussian noise with RMS ``rms_fraction`` of full scale (seeded, so tests repeat)."""
    rng = np.random.default_rng(seed)
    y = rng.normal(0.0, rms_fraction * FULL_SCALE, round(duration_s * sample_rate))
    return np.clip(np.rint(y), -32768, 32767).astype(np.int16)

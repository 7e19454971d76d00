"""Read WAV clips (espeak-ng output, test fixtures) as mono int16 at a chosen rate."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from .framing import DEFAULT_SAMPLE_RATE, Int16Array
from .resample import resample_int16


def read_wav_mono(path: str | Path) -> tuple[Int16Array, int]:
    """Samples (channels averaged) and sample rate of an 8- or 16-bit PCM WAV file."""
    with wave.open(str(path), "rb") as w:
        channels = w.getnchannels()
        width = w.getsampwidth()
        rate = w.getframerate()
        raw = w.readframes(w.getnframes())
    if width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.int16)
    elif width == 1:  # 8-bit WAV is unsigned
        data = ((np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    else:
        raise ValueError(f"{path}: {8 * width}-bit WAV is not supported (use 8 or 16 bit)")
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1).round().astype(np.int16)
    return data, rate


def load_wav(path: str | Path, sample_rate: int = DEFAULT_SAMPLE_RATE) -> Int16Array:
    """A WAV file as mono int16 at ``sample_rate`` (resampled if needed)."""
    data, rate = read_wav_mono(path)
    return resample_int16(data, rate, sample_rate)


def write_wav_mono(path: str | Path, pcm: Int16Array, sample_rate: int) -> None:
    """Write mono int16 samples as a 16-bit WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(np.asarray(pcm, dtype="<i2").tobytes())

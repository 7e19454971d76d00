"""Sample-rate conversion of whole int16 clips with numpy (e.g. espeak-ng's 22050 Hz WAVs → 48 kHz).

For live streams use ``livekit.rtc.AudioResampler`` (soxr, stateful); these helpers work on a
complete clip, which keeps them pure and easy to test.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from .framing import Int16Array, as_int16

ResampleMethod = Literal["fft", "linear"]


def resampled_length(n_samples: int, src_rate: int, dst_rate: int) -> int:
    """Length of an ``n_samples`` clip after conversion (rounded to the nearest sample)."""
    return round(n_samples * dst_rate / src_rate)


def _to_int16(signal: npt.NDArray[np.float64]) -> Int16Array:
    return np.clip(np.rint(signal), -32768, 32767).astype(np.int16)


def resample_int16(
    pcm: npt.ArrayLike, src_rate: int, dst_rate: int, method: ResampleMethod = "fft"
) -> Int16Array:
    """Convert a mono int16 clip from ``src_rate`` to ``dst_rate``.

    ``fft`` is band-limited (zero-padding or truncating the spectrum is an ideal low-pass, so
    downsampling does not alias); it treats the clip as periodic, harmless for clips that start
    and end near silence. ``linear`` is cheaper and fine for upsampling speech.
    """
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError("sample rates must be positive")
    x = as_int16(pcm)
    if src_rate == dst_rate or len(x) == 0:
        return x.copy()
    n_out = resampled_length(len(x), src_rate, dst_rate)
    if n_out == 0:
        return np.zeros(0, dtype=np.int16)
    xf = x.astype(np.float64)
    if method == "linear":
        t_out = np.arange(n_out, dtype=np.float64) * (src_rate / dst_rate)
        return _to_int16(np.interp(t_out, np.arange(len(x), dtype=np.float64), xf))
    if method != "fft":
        raise ValueError(f"unknown resampling method {method!r}")
    spectrum = np.fft.rfft(xf)
    bins_out = n_out // 2 + 1
    fitted = np.zeros(bins_out, dtype=np.complex128)
    keep = min(len(spectrum), bins_out)
    fitted[:keep] = spectrum[:keep]
    # irfft's scale is 1/n_out where rfft's inverse would be 1/len(x): restore the amplitude.
    y = np.fft.irfft(fitted, n_out) * (n_out / len(x))
    return _to_int16(y)

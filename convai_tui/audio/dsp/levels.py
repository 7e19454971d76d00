"""Peak and RMS levels of int16 audio in dBFS, and a cheap meter sampled by the UI.

0 dBFS is a full-scale (32768) peak; a full-scale sine has an RMS of -3.01 dBFS (the plain
RMS convention, not AES-17's +3 dB). Silence is clamped to ``DBFS_FLOOR`` rather than -inf so
the values stay JSON-able and comparable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DBFS_FLOOR = -90.0
FULL_SCALE = 32768.0


def amplitude_to_dbfs(amplitude: float) -> float:
    """A linear amplitude (fraction of full scale) in dBFS, clamped at ``DBFS_FLOOR``."""
    if amplitude <= 0.0:
        return DBFS_FLOOR
    return max(DBFS_FLOOR, 20.0 * math.log10(amplitude))


def _mean_square(block: npt.NDArray[np.int16]) -> float:
    # float32 dot product: no int overflow and no big temporary, cheap enough for a callback.
    f = block.astype(np.float32).reshape(-1)
    return float(np.dot(f, f)) / len(f) if len(f) else 0.0


def peak(block: npt.NDArray[np.int16]) -> int:
    """Largest sample magnitude (0 for an empty block), without an allocation."""
    if block.size == 0:
        return 0
    # int32 so that abs(-32768) does not wrap.
    return int(max(int(block.max()), -int(block.min())))


def peak_dbfs(block: npt.NDArray[np.int16]) -> float:
    """Peak level of an int16 block in dBFS."""
    return amplitude_to_dbfs(peak(block) / FULL_SCALE)


def rms_dbfs(block: npt.NDArray[np.int16]) -> float:
    """RMS level of an int16 block in dBFS."""
    return amplitude_to_dbfs(math.sqrt(_mean_square(block)) / FULL_SCALE)


@dataclass(frozen=True, slots=True)
class Level:
    """The level of one completed meter window."""

    peak_dbfs: float
    rms_dbfs: float


SILENT = Level(DBFS_FLOOR, DBFS_FLOOR)


class LevelMeter:
    """Aggregates blocks into windows (100 ms by default) and keeps the latest window's level.

    ``update`` runs on an audio callback thread and does a few numpy reductions; ``latest``
    is read from any thread. Publishing is a single attribute assignment of an immutable
    ``Level``, atomic under the GIL, so no lock is needed. A consumer polling at 10 Hz or faster
    sees every window, so short peaks are not missed as they would be by sampling one block.
    """

    def __init__(self, sample_rate: int = 48_000, window_ms: int = 100) -> None:
        self.window_samples = max(1, sample_rate * window_ms // 1000)
        self._peak = 0
        self._sum_sq = 0.0
        self._count = 0
        self._latest: Level | None = None

    def update(self, block: npt.NDArray[np.int16]) -> None:
        """Account for one block of samples."""
        n = block.size
        if n == 0:
            return
        self._peak = max(self._peak, peak(block))
        self._sum_sq += _mean_square(block) * n
        self._count += n
        if self._count >= self.window_samples:
            rms = math.sqrt(self._sum_sq / self._count) / FULL_SCALE
            self._latest = Level(amplitude_to_dbfs(self._peak / FULL_SCALE), amplitude_to_dbfs(rms))
            self._peak = 0
            self._sum_sq = 0.0
            self._count = 0

    def latest(self) -> Level | None:
        """The last completed window, or None before the first one."""
        return self._latest

    def reset(self) -> None:
        """Forget everything (e.g. when the stream stops)."""
        self._peak = 0
        self._sum_sq = 0.0
        self._count = 0
        self._latest = None

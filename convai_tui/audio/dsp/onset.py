"""The first audible block after a silence: where a reply starts in a stream that may carry
silence between turns. A reduction per block (peak), no allocation, safe on audio threads."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .levels import peak

AUDIBLE_PEAK = 328
"""About -40 dBFS: quieter than any speech, louder than the stand-in's and codecs' silence."""

GAP_S = 0.3
"""This much silence before an audible block makes it a new onset (pauses within a reply do not)."""


def first_audible(pcm: npt.NDArray[np.int16], audible_peak: int = AUDIBLE_PEAK) -> int:
    """Index of the first sample at or above ``audible_peak`` (0 when there is none)."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) >= audible_peak)
    return int(loud[0]) if loud.size else 0


class Onset:
    def __init__(self, audible_peak: int = AUDIBLE_PEAK, gap_s: float = GAP_S) -> None:
        self._peak = audible_peak
        self._gap_s = gap_s
        self._last_audible_at: float | None = None

    def feed(self, pcm: npt.NDArray[np.int16], at: float) -> bool:
        """True when this block (heard at monotonic time `at`) starts a sound after a gap."""
        if not len(pcm):
            return False
        if peak(pcm) < self._peak:
            return False
        last, self._last_audible_at = self._last_audible_at, at
        return last is None or at - last >= self._gap_s

"""How much audio waits in an ``rtc.AudioSource`` to be sent.

A 10 ms timer takes 10 ms from a queued source every 10 ms, so whatever is queued beyond one
frame is pure delay. ``AudioSource.queued_duration`` keeps a running sum that a pause drives below zero, so
after a gap the next burst reads as "nothing queued" while all of it waits; a real queue cannot
be less than empty, and this estimate clamps at every frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class SendQueueEstimate:
    """Seconds of audio handed to a source and not yet taken by WebRTC."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._queued_s = 0.0
        self._at: float | None = None

    def queued_s(self) -> float:
        if self._at is None:
            return 0.0
        return max(0.0, self._queued_s - (self._clock() - self._at))

    def added(self, duration_s: float) -> None:
        """Record a frame of ``duration_s`` handed to the source now."""
        queued = self.queued_s()
        self._at = self._clock()
        self._queued_s = queued + duration_s

    def cleared(self) -> None:
        """Record that the source's queue was emptied (``clear_queue``)."""
        self._queued_s = 0.0
        self._at = None

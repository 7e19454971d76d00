"""Whether the output device keeps up: speech dropped is never silent.

A sink that consumes the stream slower than real time (seen with a PulseAudio sink at 2 s of
latency: a third of real time) makes the jitter buffers overflow, and the oldest audio is
dropped to bound the delay. ``PlaybackHealth`` looks at a sliding window of the device's
consumption and the buffers' drops and says when to raise ``audio.playback_dropping`` and when
to clear it. Pure: the caller samples the counters and the clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

WINDOW_S = 2.0
"""Judged over this much recent time: long enough to ignore a callback burst, short enough to
raise within ~3 s."""
SLOW_BELOW = 0.9
"""Raise when the device consumes less than this share of real time…"""
DROPPED_ABOVE = 0.03
"""…or more than this share of the received audio is dropped."""
RECOVERED_FROM = 0.97
"""Clear once the device is back above this share of real time, with (almost) no drops."""
RECOVERED_DROPS_BELOW = 0.005


@dataclass(frozen=True, slots=True)
class PlaybackCounts:
    """Monotonic counters: samples the device took, samples received, samples dropped."""

    rendered: int
    received: int
    dropped: int


@dataclass(frozen=True, slots=True)
class PlaybackVerdict:
    change: Literal["raise", "clear"]
    speed: float
    """The device's consumption as a share of real time over the window."""
    dropped_share: float
    """Dropped samples as a share of the samples received over the window."""


class PlaybackHealth:
    """Feed ``sample(now, counts)`` a few times a second; it returns a verdict when the state
    changes (raise once, clear once), else None."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._samples: deque[tuple[float, PlaybackCounts]] = deque()
        self.dropping = False

    def sample(self, now: float, counts: PlaybackCounts) -> PlaybackVerdict | None:
        self._samples.append((now, counts))
        while len(self._samples) > 2 and now - self._samples[1][0] >= WINDOW_S:
            self._samples.popleft()
        start_at, start = self._samples[0]
        span = now - start_at
        if span < WINDOW_S * 0.95:
            return None
        speed = (counts.rendered - start.rendered) / (span * self.sample_rate)
        received = counts.received - start.received
        dropped = counts.dropped - start.dropped
        share = dropped / received if received > 0 else 0.0
        if not self.dropping and (speed < SLOW_BELOW or share > DROPPED_ABOVE):
            self.dropping = True
            return PlaybackVerdict("raise", speed, share)
        if self.dropping and speed >= RECOVERED_FROM and share < RECOVERED_DROPS_BELOW:
            self.dropping = False
            return PlaybackVerdict("clear", speed, share)
        return None


def dropping_message(verdict: PlaybackVerdict) -> str:
    return (
        f"Speech is being dropped: the output device plays at {verdict.speed:.0%} of real time "
        f"and {verdict.dropped_share:.0%} of the received audio was dropped in the last "
        f"{WINDOW_S:.0f} s."
    )

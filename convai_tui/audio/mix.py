"""Every remote audio track of a room into the one output stream.

Each track (``MixInput``) has its own jitter buffer, filled on LiveKit's callback thread as the
single track's was. The output callback pulls from :class:`RoomMix`: with one input at unity
gain that is the input's buffer copied straight into the device block (the single-character
path, no mixing cost); with more, each input is pulled into a scratch block, scaled by its
volume, summed in float, and passed through a peak limiter so two voices at once never clip.

When it mixes, the block actually played is also queued in ``reference`` so the echo canceller
can be fed the mix (not one track) as its far-end signal; the callback thread never calls into
LiveKit itself.

An input whose track ended stays until its buffer has played out, so a sentence under way when
a character leaves is finished rather than cut with a click; running dry then is the end of its
stream, not an underrun.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from .dsp.levels import LevelMeter
from .jitter import JitterBuffer

# The limiter keeps the sum's peak at or under this share of full scale.
LIMIT = 0.89 * 32767.0
# After a loud block the limiter's gain returns to unity by this much per block (~0.3 s at 10 ms).
RELEASE_PER_BLOCK = 0.03
REFERENCE_MAX_MS = 200


class MixInput:
    """One remote audio track in the mix: its jitter buffer, volume and local mute."""

    def __init__(self, key: str, identity: str, buffer: JitterBuffer) -> None:
        self.key = key
        self.identity = identity
        self.buffer = buffer
        self.meter = LevelMeter(buffer.sample_rate)
        """The level of what this participant sends (before its volume), for its own meter."""
        self.gain = 1.0
        self.muted = False
        self.ended = False

    @property
    def unity(self) -> bool:
        return self.gain == 1.0 and not self.muted


class RoomMix:
    """The inputs' sum, pulled by the output callback (``pull_into``)."""

    def __init__(self, sample_rate: int, make_buffer: Callable[[int], JitterBuffer]) -> None:
        self.sample_rate = sample_rate
        self._make_buffer = make_buffer
        # Replaced, never mutated: the output callback reads it without a lock.
        self._inputs: tuple[MixInput, ...] = ()
        self._lock = threading.Lock()
        self._scratch: npt.NDArray[np.int16] = np.zeros(0, dtype=np.int16)
        self._sum: npt.NDArray[np.float32] = np.zeros(0, dtype=np.float32)
        self._scaled: npt.NDArray[np.float32] = np.zeros(0, dtype=np.float32)
        self._ramp: npt.NDArray[np.float32] = np.zeros(0, dtype=np.float32)
        self._limiter_gain = 1.0
        self.limited_blocks = 0
        self.reference = JitterBuffer(sample_rate, 10, REFERENCE_MAX_MS, grow_to_ms=10)
        # Counters of inputs already gone, so stats() stays monotonic.
        self._gone_underruns = 0
        self._gone_overflows = 0
        self._gone_dropped = 0
        self._gone_trimmed = 0
        self._gone_underrun_samples = 0
        self._gone_pushed = 0
        self._gone_played = 0

    # -- membership (event loop) ----------------------------------------------------------

    @property
    def inputs(self) -> tuple[MixInput, ...]:
        return self._inputs

    @property
    def mixing(self) -> bool:
        """True when the output is a sum (more than one input, or one not at unity gain)."""
        inputs = self._inputs
        return len(inputs) > 1 or (len(inputs) == 1 and not inputs[0].unity)

    def add(self, key: str, identity: str, frame_ms: int = 10) -> MixInput:
        """A new input whose audio arrives ``frame_ms`` at a time (or the live one already
        under ``key``)."""
        with self._lock:
            for existing in self._inputs:
                if existing.key == key and not existing.ended:
                    return existing
            new = MixInput(key, identity, self._make_buffer(frame_ms))
            self._inputs = (*self._inputs, new)
            return new

    def end(self, key: str) -> None:
        """The track under ``key`` ended: its input leaves once what it queued has played."""
        with self._lock:
            for existing in self._inputs:
                if existing.key == key:
                    existing.ended = True
                    existing.buffer.end()
            self._prune_locked()

    def clear(self) -> None:
        with self._lock:
            for gone in self._inputs:
                self._retire(gone)
            self._inputs = ()
            self.reference.clear()

    def _prune_locked(self) -> None:
        keep = tuple(i for i in self._inputs if not (i.ended and not i.buffer.playing))
        if len(keep) != len(self._inputs):
            for gone in set(self._inputs) - set(keep):
                self._retire(gone)
            self._inputs = keep

    def _retire(self, gone: MixInput) -> None:
        stats = gone.buffer.stats()
        self._gone_underruns += stats.underruns
        self._gone_overflows += stats.overflows
        self._gone_dropped += stats.dropped_samples
        self._gone_trimmed += stats.trimmed_samples
        self._gone_underrun_samples += stats.underrun_samples
        self._gone_pushed += stats.pushed_samples
        self._gone_played += stats.played_samples

    # -- output callback ------------------------------------------------------------------

    def pull_into(self, out: npt.NDArray[np.int16]) -> int:
        """Fill ``out`` with the next block of the mix; return how many samples were audio."""
        inputs = self._inputs
        if not inputs:
            out[:] = 0
            return 0
        if len(inputs) == 1 and inputs[0].unity:
            taken = inputs[0].buffer.pull_into(out)
            if inputs[0].ended and taken < len(out):
                self._prune_soon()
            return taken
        n = len(out)
        if len(self._scratch) != n:
            self._scratch = np.zeros(n, dtype=np.int16)
            self._sum = np.zeros(n, dtype=np.float32)
            self._scaled = np.zeros(n, dtype=np.float32)
            self._ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
        total, scratch = self._sum, self._scratch
        total.fill(0.0)
        audio = 0
        drained = False
        # In place on preallocated blocks: this runs on the output thread once per block.
        for source in inputs:
            taken = source.buffer.pull_into(scratch)
            if source.ended and taken < n:
                drained = True
            if taken == 0 or source.muted:
                continue
            audio = max(audio, taken)
            if source.gain == 1.0:
                np.add(total, scratch, out=total)
            else:
                np.multiply(scratch, np.float32(source.gain), out=self._scaled)
                np.add(total, self._scaled, out=total)
        # The limiter leaves every sample within LIMIT, under full scale: nothing to clip.
        self._limit(total)
        out[:] = total
        self.reference.push(out)
        if drained:
            self._prune_soon()
        return audio

    def _limit(self, total: npt.NDArray[np.float32]) -> None:
        peak = max(float(total.max()), -float(total.min())) if len(total) else 0.0
        previous = self._limiter_gain
        if peak * previous > LIMIT:
            # Attack at once: the whole block at the gain that keeps its peak under the limit.
            self._limiter_gain = LIMIT / peak
            self.limited_blocks += 1
            total *= np.float32(self._limiter_gain)
            return
        target = min(1.0, previous + RELEASE_PER_BLOCK)
        if peak * target > LIMIT:
            target = LIMIT / peak
        self._limiter_gain = target
        if previous == 1.0 and target == 1.0:
            return
        # Release smoothly across the block (no step in gain, so no click).
        total *= np.float32(previous) + np.float32(target - previous) * self._ramp

    def _prune_soon(self) -> None:
        # Called on the output thread: never wait for the lock there.
        if self._lock.acquire(blocking=False):
            try:
                self._prune_locked()
            finally:
                self._lock.release()

    # -- readings -------------------------------------------------------------------------

    @property
    def depth_ms(self) -> float:
        """The deepest input's queued audio: what a new frame waits behind."""
        return max((i.buffer.depth_ms for i in self._inputs), default=0.0)

    def totals(self) -> dict[str, float | int]:
        """Jitter counters summed over all inputs, those gone included."""
        live = [i.buffer.stats() for i in self._inputs]
        return {
            "underruns": self._gone_underruns + sum(s.underruns for s in live),
            "underrun_samples": self._gone_underrun_samples + sum(s.underrun_samples for s in live),
            "jitter_overflows": self._gone_overflows + sum(s.overflows for s in live),
            "jitter_dropped_samples": self._gone_dropped + sum(s.dropped_samples for s in live),
            "jitter_trimmed_samples": self._gone_trimmed + sum(s.trimmed_samples for s in live),
            "pushed_samples": self._gone_pushed + sum(s.pushed_samples for s in live),
            "played_samples": self._gone_played + sum(s.played_samples for s in live),
            "jitter_depth_ms": round(max((s.depth_ms for s in live), default=0.0), 3),
            "jitter_target_ms": max((s.target_ms for s in live), default=0.0),
            "mix_inputs": len(live),
            "limited_blocks": self.limited_blocks,
        }

"""A bounded jitter buffer between the asyncio side (network frames) and the output callback.

Frames arrive in bursts from the event loop; the PortAudio callback pulls a fixed number of
samples at a steady pace. The buffer waits until ``target_ms`` is queued before it starts to
play (so one late frame does not cause an immediate gap), plays silence on underrun and then
re-buffers to the target, and drops the *oldest* audio when ``max_ms`` would be exceeded (so
latency stays bounded). Each underrun raises the target by one frame, up to ``grow_to_ms``:
a calm machine keeps the low default latency, a busy one (event-loop stalls longer than the
target) buys the margin it needs after a glitch or two instead of glitching on.
Everything is counted; nothing raises on the hot path.

With ``shed_latency`` it also gives back latency it no longer needs, which would otherwise
stay for the rest of the session (nothing plays faster than real time):
- a backlog: audio that arrived in a burst (frames held up behind a stall and delivered at
  once, or a device that stopped pulling for a while). When the depth found at every pull of a
  ``TRIM_WINDOW_MS`` window stayed a frame or more above the target, the excess is cut, from
  quiet audio only (a cut in speech would click), never below the target, so it cannot cause an
  underrun;
- a grown target: after ``RELAX_AFTER_MS`` of playback with no underrun the target comes down
  one frame, never below where it started (a start-up glitch no longer costs a frame of delay
  for good; a machine that stays busy glitches at most once per period and grows it again).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .dsp.framing import Int16Array, as_int16
from .dsp.levels import peak
from .dsp.onset import AUDIBLE_PEAK

# One 10 ms frame is the smallest meaningful target: below it the first callback after a frame
# arrives would already underrun.
MIN_TARGET_MS = 10
GROW_STEP_MS = 10
# Long enough that a depth that never dipped to the target is a backlog, not jitter.
TRIM_WINDOW_MS = 500
# Audio whose peak stays under the audibility threshold (-40 dBFS) can be cut without a click.
QUIET_PEAK = AUDIBLE_PEAK
# Calm playback after which a grown target comes down a frame: rare enough that a busy machine
# does not glitch every few seconds, soon enough that a start-up glitch is forgotten.
RELAX_AFTER_MS = 10_000


@dataclass(frozen=True, slots=True)
class JitterStats:
    """Counters of a :class:`JitterBuffer`; JSON-able via ``to_json``."""

    pushed_samples: int
    played_samples: int
    underruns: int
    underrun_samples: int
    overflows: int
    dropped_samples: int
    trimmed_samples: int
    """Quiet audio cut to shed a backlog (``shed_latency``), not counted as dropped."""
    depth_ms: float
    target_ms: float
    playing: bool
    start_latency_ms: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class JitterBuffer:
    """Mono int16 FIFO with a start threshold, underrun and overflow accounting.

    ``push`` is called from the event loop, ``pull_into`` from the audio callback thread. A
    ``threading.Lock`` guards the indices; both critical sections are a couple of memcpy's of at
    most ``max_ms`` of audio, so the callback never waits for long. ``pull_into`` allocates
    nothing.
    """

    def __init__(
        self,
        sample_rate: int = 48_000,
        target_ms: int = 30,
        max_ms: int = 250,
        clock: Callable[[], float] = time.monotonic,
        grow_to_ms: int | None = None,
        shed_latency: bool = False,
    ) -> None:
        grow_to_ms = target_ms if grow_to_ms is None else grow_to_ms
        if target_ms < MIN_TARGET_MS:
            raise ValueError(f"target_ms must be at least {MIN_TARGET_MS}")
        if grow_to_ms < target_ms:
            raise ValueError("grow_to_ms must be at least target_ms")
        if max_ms < 2 * grow_to_ms:
            raise ValueError("max_ms must be at least twice grow_to_ms (and target_ms)")
        self.sample_rate = sample_rate
        self.target_samples = sample_rate * target_ms // 1000
        self._grow_step = sample_rate * GROW_STEP_MS // 1000
        self._grow_to = sample_rate * grow_to_ms // 1000
        self.capacity = sample_rate * max_ms // 1000
        self._clock = clock
        self._ring = np.zeros(self.capacity, dtype=np.int16)
        self._read = 0
        self._count = 0
        self._playing = False
        self._lock = threading.Lock()
        self._pushed = 0
        self._played = 0
        self._underruns = 0
        self._underrun_samples = 0
        self._overflows = 0
        self._dropped = 0
        self._first_push_at: float | None = None
        self._first_play_at: float | None = None
        self._initial_target = self.target_samples
        self._trim_window = sample_rate * TRIM_WINDOW_MS // 1000 if shed_latency else 0
        self._relax_after = sample_rate * RELAX_AFTER_MS // 1000 if shed_latency else 0
        self._calm = 0
        self._window_pulled = 0
        self._window_low = 0
        self._excess = 0
        self._trimmed = 0
        self._ended = False

    # -- producer (event loop) ---------------------------------------------------------------

    def push(self, pcm: npt.ArrayLike) -> None:
        """Queue samples; if the buffer would overflow, the oldest queued audio is dropped."""
        data = as_int16(pcm)
        n = len(data)
        if n == 0:
            return
        with self._lock:
            if self._first_push_at is None:
                self._first_push_at = self._clock()
            self._pushed += n
            if n > self.capacity:  # a single oversized push keeps only its newest part
                self._dropped += n - self.capacity
                data = data[n - self.capacity :]
                n = self.capacity
            overflow = self._count + n - self.capacity
            if overflow > 0:
                self._overflows += 1
                self._dropped += overflow
                self._read = (self._read + overflow) % self.capacity
                self._count -= overflow
            write = (self._read + self._count) % self.capacity
            first = min(n, self.capacity - write)
            self._ring[write : write + first] = data[:first]
            if first < n:
                self._ring[: n - first] = data[first:]
            self._count += n
            if not self._playing and self._count >= self.target_samples:
                self._playing = True

    # -- consumer (audio callback) -----------------------------------------------------------

    def pull_into(self, out: npt.NDArray[np.int16]) -> int:
        """Fill ``out`` (1-D) with the next samples; return how many were real audio.

        Before the target depth is reached ``out`` is silence and nothing is counted; once
        playing, running dry plays the remainder as silence, counts one underrun and re-buffers
        (after ``end`` it is the stream's end: silence, nothing counted).
        """
        n = len(out)
        with self._lock:
            if not self._playing:
                out[:] = 0
                return 0
            if self._trim_window:
                self._track_excess(n)
            take = min(n, self._count)
            first = min(take, self.capacity - self._read)
            out[:first] = self._ring[self._read : self._read + first]
            if first < take:
                out[first:take] = self._ring[: take - first]
            self._read = (self._read + take) % self.capacity
            self._count -= take
            self._played += take
            if self._relax_after and self.target_samples > self._initial_target:
                self._relax(take)
            if take and self._first_play_at is None:
                self._first_play_at = self._clock()
            if take < n:
                out[take:] = 0
                if self._ended:  # the stream's last block: nothing came late
                    self._playing = False
                    return take
                self._underruns += 1
                self._underrun_samples += n - take
                self._playing = False
                self.target_samples = min(self._grow_to, self.target_samples + self._grow_step)
                self._window_pulled = 0
                self._excess = 0
                self._calm = 0
            return take

    def end(self) -> None:
        """No more audio will come: what is queued plays out, and running dry after it is the
        end of the stream, not an underrun (not counted, the target does not grow)."""
        with self._lock:
            self._ended = True

    def _relax(self, played: int) -> None:
        self._calm += played
        if self._calm >= self._relax_after:
            self._calm = 0
            self.target_samples = max(self._initial_target, self.target_samples - self._grow_step)

    def _track_excess(self, n: int) -> None:
        """Before a pull of ``n``: note the depth, and cut excess found over a whole window."""
        depth = self._count
        self._window_low = depth if self._window_pulled == 0 else min(self._window_low, depth)
        self._window_pulled += n
        if self._window_pulled >= self._trim_window:
            excess = self._window_low - self.target_samples
            self._excess = excess if excess >= self._grow_step else 0
            self._window_pulled = 0
        if self._excess:
            self._cut_quiet_head()

    def _cut_quiet_head(self) -> None:
        """Drop quiet audio from the head, a frame at a time, until the excess is gone, the
        depth is down to the target, or the head is not quiet (tried again at the next pull)."""
        while self._excess > 0:
            step = min(self._excess, self._grow_step, self._count - self.target_samples)
            if step <= 0:
                self._excess = 0
                return
            first = min(step, self.capacity - self._read)
            loudest = peak(self._ring[self._read : self._read + first])
            if first < step:
                loudest = max(loudest, peak(self._ring[: step - first]))
            if loudest >= QUIET_PEAK:
                return
            self._read = (self._read + step) % self.capacity
            self._count -= step
            self._excess -= step
            self._trimmed += step

    def pull(self, n: int) -> Int16Array:
        """Convenience for tests and non-realtime users: ``n`` samples in a new array."""
        out = np.zeros(n, dtype=np.int16)
        self.pull_into(out)
        return out

    # -- inspection --------------------------------------------------------------------------

    @property
    def depth_samples(self) -> int:
        return self._count

    @property
    def depth_ms(self) -> float:
        return 1000.0 * self._count / self.sample_rate

    @property
    def target_ms(self) -> float:
        """The depth playback (re)starts at: the initial target plus what underruns added."""
        return 1000.0 * self.target_samples / self.sample_rate

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def start_latency_ms(self) -> float | None:
        """Time from the first push to the first real audio handed to the device."""
        if self._first_push_at is None or self._first_play_at is None:
            return None
        return 1000.0 * (self._first_play_at - self._first_push_at)

    def stats(self) -> JitterStats:
        with self._lock:
            return JitterStats(
                pushed_samples=self._pushed,
                played_samples=self._played,
                underruns=self._underruns,
                underrun_samples=self._underrun_samples,
                overflows=self._overflows,
                dropped_samples=self._dropped,
                trimmed_samples=self._trimmed,
                depth_ms=round(1000.0 * self._count / self.sample_rate, 3),
                target_ms=self.target_ms,
                playing=self._playing,
                start_latency_ms=self.start_latency_ms,
            )

    def clear(self) -> None:
        """Drop queued audio and go back to buffering (counters and latency are kept)."""
        with self._lock:
            self._read = 0
            self._count = 0
            self._playing = False
            self._window_pulled = 0
            self._excess = 0

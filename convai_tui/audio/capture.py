"""Microphone capture: a PortAudio input callback cutting the input into exact frames.

Two ways to consume them. With ``on_frame`` the callback hands each frame, on PortAudio's
thread, to that function (the session's pipeline: APM and sending happen right there, with no
event-loop wake-up per frame). Without it the callback copies frames into a bounded ring of
preallocated slots read by asyncio (``read``), and wakes a waiting reader with
``loop.call_soon_threadsafe``. Either way it never blocks, never touches asyncio objects
directly, and never raises: a full ring drops the new frame and counts an overflow; a failing
``on_frame`` is counted in ``callback_errors``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .backend import load_sounddevice, start_stream
from .dsp.framing import Int16Array, samples_per_frame
from .dsp.levels import LevelMeter
from .errors import MIC_STALLED, MIC_UNAVAILABLE, AudioError, ProblemCallback
from .thread_names import name_this_thread

CAPTURE_THREAD_NAME = "convai-mic"

# Suggested device latency. A number rather than PortAudio's "low" so it means the same on every
# host API (ALSA hw "low" is ~9 ms, too tight for a Python callback under load).
DEFAULT_INPUT_LATENCY_S = 0.03

FrameConsumer = Callable[[Int16Array, float, float], None]
"""``on_frame(pcm, captured_at, input_latency_s)``, called on PortAudio's thread; ``pcm`` is a
view valid only during the call."""


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    """One frame from the microphone."""

    pcm: Int16Array
    captured_at: float
    """``time.monotonic()`` when the callback delivered it."""
    input_latency_s: float
    """PortAudio's estimate of the delay from this frame's last sample at the ADC to the
    callback."""


class MicCapture:
    """An input stream that yields exact ``frame_ms`` frames to ``on_frame`` or an asyncio reader."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        device: int | None = None,
        sample_rate: int = 48_000,
        frame_ms: int = 10,
        queue_frames: int = 50,
        latency: float | str = DEFAULT_INPUT_LATENCY_S,
        clock: Callable[[], float] = time.monotonic,
        on_frame: FrameConsumer | None = None,
        block_ms: int | None = None,
    ) -> None:
        self.loop = loop
        self._on_frame = on_frame
        self.device = device
        self.sample_rate = sample_rate
        self.frame_samples = samples_per_frame(sample_rate, frame_ms)
        # The device may deliver several frames per callback (fewer wake-ups); they are cut
        # into frame_ms frames all the same.
        self.block_samples = samples_per_frame(sample_rate, block_ms or frame_ms)
        self.capacity = queue_frames
        self.latency = latency
        self.meter = LevelMeter(sample_rate)
        self._clock = clock
        self._slots = np.zeros((queue_frames, self.frame_samples), dtype=np.int16)
        self._slot_time = np.zeros(queue_frames, dtype=np.float64)
        self._slot_latency = np.zeros(queue_frames, dtype=np.float64)
        # Monotonic counters: the callback only advances _written, the reader only _read, so
        # the ring needs no lock (single producer, single consumer, GIL-atomic int stores).
        self._written = 0
        self._read = 0
        self._partial = np.zeros(self.frame_samples, dtype=np.int16)
        self._partial_len = 0
        self._waiting = False
        self._wake = asyncio.Event()
        self._stream: Any = None
        self._channels = 1
        self.last_frame_at: float = 0.0
        self.overflows = 0
        self.device_overflows = 0
        self.callback_errors = 0
        self.stalls = 0
        self.reopens = 0
        self._named = False

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    def open(self) -> None:
        """Open and start the input stream; raise ``AudioError(audio.mic_unavailable)`` if not possible."""
        sd = load_sounddevice(MIC_UNAVAILABLE)
        self._stream, self._channels = start_stream(
            sd.InputStream,
            MIC_UNAVAILABLE,
            "the microphone",
            samplerate=self.sample_rate,
            blocksize=self.block_samples,
            device=self.device,
            latency=self.latency,
            callback=self._callback,
        )
        self._partial_len = 0
        self._named = False  # a reopened stream calls back on a new thread
        self.last_frame_at = self._clock()

    def close(self) -> None:
        """Stop and close the stream; safe to call twice."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.abort()
        except Exception:
            pass
        try:
            stream.close()
        except Exception:
            pass

    def reopen(self) -> None:
        """Close and open again (the watchdog's remedy for a stalled device)."""
        self.close()
        self.reopens += 1
        self.open()

    # -- PortAudio thread --------------------------------------------------------------------

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        try:
            if not self._named:
                self._named = True
                name_this_thread(CAPTURE_THREAD_NAME)
            if status and getattr(status, "input_overflow", False):
                self.device_overflows += 1
            now = self._clock()
            try:
                latency = max(0.0, float(time_info.currentTime - time_info.inputBufferAdcTime))
            except Exception:
                latency = 0.0
            mono = indata[:, 0] if indata.ndim == 2 else indata
            self.meter.update(mono)
            self._store(mono, now, latency)
            self.last_frame_at = now
            if self._waiting and self._on_frame is None:
                self._waiting = False
                self.loop.call_soon_threadsafe(self._wake.set)
        except Exception:
            # Raising here would abort the stream; count and carry on.
            self.callback_errors += 1

    def _store(self, mono: Any, now: float, latency: float) -> None:
        """`latency`: how long ago the block's first sample was captured; each frame is given
        the delay of its own last sample (a frame ending later in the block is more recent)."""
        n = self.frame_samples
        rate = self.sample_rate
        pos = 0
        total = len(mono)
        if self._partial_len:
            take = min(n - self._partial_len, total)
            self._partial[self._partial_len : self._partial_len + take] = mono[:take]
            self._partial_len += take
            pos = take
            if self._partial_len == n:
                self._commit(self._partial, now, max(0.0, latency - take / rate))
                self._partial_len = 0
        while total - pos >= n:
            pos += n
            self._commit(mono[pos - n : pos], now, max(0.0, latency - pos / rate))
        rest = total - pos
        if rest:
            self._partial[:rest] = mono[pos:]
            self._partial_len = rest

    def _commit(self, frame: Any, now: float, latency: float) -> None:
        if self._on_frame is not None:
            self._written += 1
            try:
                self._on_frame(frame, now, latency)
            except Exception:
                self.callback_errors += 1
            return
        if self._written - self._read >= self.capacity:
            self.overflows += 1
            return
        slot = self._written % self.capacity
        self._slots[slot] = frame
        self._slot_time[slot] = now
        self._slot_latency[slot] = latency
        self._written += 1

    # -- asyncio side ------------------------------------------------------------------------

    @property
    def frames_captured(self) -> int:
        return self._written

    def read_nowait(self) -> CapturedFrame | None:
        """The next frame (a copy), or None if none is queued."""
        if self._written == self._read:
            return None
        slot = self._read % self.capacity
        frame = CapturedFrame(
            self._slots[slot].copy(), float(self._slot_time[slot]), float(self._slot_latency[slot])
        )
        self._read += 1
        return frame

    async def read(self) -> CapturedFrame:
        """Wait for the next frame."""
        while True:
            frame = self.read_nowait()
            if frame is not None:
                return frame
            self._wake.clear()
            self._waiting = True
            # Re-check after raising the flag: a frame stored in between would not wake us.
            frame = self.read_nowait()
            if frame is not None:
                self._waiting = False
                return frame
            await self._wake.wait()

    async def watch(
        self,
        on_problem: ProblemCallback,
        stall_after_s: float = 1.0,
        check_every_s: float = 0.25,
        retry_every_s: float = 2.0,
    ) -> None:
        """Run forever: report a microphone that stops delivering frames and try to reopen it.

        ``audio.mic_stalled`` is reported once per stall; reopen attempts repeat every
        ``retry_every_s`` until frames flow again.
        """
        stalled = False
        frames_at_stall = 0
        next_retry = 0.0
        while True:
            await asyncio.sleep(check_every_s)
            now = self._clock()
            if stalled:
                # open() resets last_frame_at, so recovery also needs a frame newer than the stall.
                if self._written > frames_at_stall and now - self.last_frame_at < stall_after_s:
                    stalled = False
                    continue
            elif self.is_open and now - self.last_frame_at < stall_after_s:
                continue
            else:
                stalled = True
                frames_at_stall = self._written
                self.stalls += 1
                on_problem(
                    MIC_STALLED,
                    f"The microphone delivered no audio for {now - self.last_frame_at:.1f} s; "
                    "reopening it.",
                )
                next_retry = now
            if now >= next_retry:
                next_retry = now + retry_every_s
                try:
                    self.reopen()
                except AudioError:
                    pass  # keep trying; the stall was already reported

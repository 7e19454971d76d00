"""Speaker playback: a PortAudio output callback pulling from a :class:`JitterBuffer`.

The callback copies at most one block out of the buffer (silence when it is empty), meters what
it played and counts device underflows; it never blocks on the event loop, makes no call that
releases the GIL, and never raises.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from .backend import load_sounddevice, start_stream
from .dsp.framing import samples_per_frame
from .dsp.levels import LevelMeter
from .dsp.onset import Onset, first_audible
from .errors import SPEAKER_UNAVAILABLE
from .jitter import JitterBuffer
from .thread_names import name_this_thread

PLAYBACK_THREAD_NAME = "convai-speaker"

# Suggested device latency: small enough that playback starts well within 100 ms of the first
# frame (jitter target + one 10 ms block + this), large enough for ALSA's pulse plugin.
DEFAULT_OUTPUT_LATENCY_S = 0.02


class BlockSource(Protocol):
    def pull_into(self, out: npt.NDArray[np.int16]) -> int: ...


class SpeakerPlayback:
    """An output stream that plays whatever is pushed into :attr:`buffer`, or, once
    :attr:`source` is set (a room's mix), whatever that source gives."""

    def __init__(
        self,
        device: int | None = None,
        sample_rate: int = 48_000,
        frame_ms: int = 10,
        jitter_target_ms: int = 20,
        jitter_max_ms: int = 250,
        jitter_grow_to_ms: int = 60,
        latency: float | str = DEFAULT_OUTPUT_LATENCY_S,
        block_ms: int | None = None,
    ) -> None:
        self.device = device
        self.sample_rate = sample_rate
        self.block_samples = samples_per_frame(sample_rate, block_ms or frame_ms)
        self.latency = latency
        self.buffer = JitterBuffer(
            sample_rate,
            jitter_target_ms,
            jitter_max_ms,
            grow_to_ms=max(jitter_grow_to_ms, jitter_target_ms),
        )
        self.source: BlockSource = self.buffer
        self.meter = LevelMeter(sample_rate)
        self._stream: Any = None
        self._channels = 1
        self.output_latency_s = 0.0
        self.device_underflows = 0
        self.callbacks = 0
        self.frames_rendered = 0
        """Samples the device has taken: its consumption, against the clock, says whether it
        keeps up with real time."""
        self.callback_errors = 0
        self._named = False
        self._onset = Onset()
        self.on_onset: Callable[[float], None] | None = None
        """Called (audio thread) with the monotonic time the first audible block of a sound
        reaches the speaker; it must only hand the figure over."""

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    def open(self) -> None:
        """Open and start the output stream; raise ``AudioError(audio.speaker_unavailable)`` if not possible."""
        sd = load_sounddevice(SPEAKER_UNAVAILABLE)
        stream, self._channels = start_stream(
            sd.OutputStream,
            SPEAKER_UNAVAILABLE,
            "the output device",
            samplerate=self.sample_rate,
            blocksize=self.block_samples,
            device=self.device,
            latency=self.latency,
            callback=self._callback,
        )
        self._stream = stream
        try:
            self.output_latency_s = float(stream.latency)
        except Exception:  # some host APIs report no latency
            self.output_latency_s = 0.0

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

    def _heard_at(self, block: npt.NDArray[np.int16], time_info: Any) -> float:
        """When the block's first audible sample leaves the device, on the monotonic clock:
        PortAudio's DAC time for the block (the host's own buffering included) when it gives
        one, else the stream's nominal latency, plus where in the block the sound starts."""
        now = time.monotonic()
        try:
            ahead = float(time_info.outputBufferDacTime - time_info.currentTime)
        except Exception:
            ahead = 0.0
        if not 0.0 < ahead < 1.0:  # no figure (0) or a host API reporting nonsense
            ahead = self.output_latency_s
        return now + ahead + first_audible(block) / self.sample_rate

    def push(self, pcm: npt.ArrayLike) -> None:
        """Queue mono int16 samples at ``sample_rate`` for playback."""
        self.buffer.push(pcm)

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        try:
            if not self._named:
                self._named = True
                name_this_thread(PLAYBACK_THREAD_NAME)
            self.callbacks += 1
            self.frames_rendered += frames
            if status and getattr(status, "output_underflow", False):
                self.device_underflows += 1
            first = outdata[:, 0]
            self.source.pull_into(first)
            on_onset = self.on_onset
            if on_onset is not None and self._onset.feed(first, time.monotonic()):
                on_onset(self._heard_at(first, time_info))
            if self._channels > 1:
                outdata[:, 1:] = outdata[:, :1]
            self.meter.update(first)
        except Exception:
            self.callback_errors += 1
            try:
                outdata.fill(0)
            except Exception:
                pass

"""Split int16 PCM into fixed-size frames (10 ms by default) and join them back."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]

DEFAULT_SAMPLE_RATE = 48_000
DEFAULT_FRAME_MS = 10


def samples_per_frame(
    sample_rate: int = DEFAULT_SAMPLE_RATE, frame_ms: int = DEFAULT_FRAME_MS
) -> int:
    """Samples in one mono frame; the rate must divide evenly (APM needs exact 10 ms frames)."""
    total = sample_rate * frame_ms
    if total % 1000:
        raise ValueError(f"{frame_ms} ms at {sample_rate} Hz is not a whole number of samples")
    return total // 1000


def as_int16(pcm: npt.ArrayLike) -> Int16Array:
    """A flat int16 view of ``pcm`` (bytes, memoryview or array); copies only when it must."""
    if isinstance(pcm, bytes | bytearray | memoryview):
        return np.frombuffer(pcm, dtype=np.int16)
    arr = np.asarray(pcm)
    if arr.dtype != np.int16:
        raise TypeError(f"expected int16 samples, got {arr.dtype}")
    return arr.reshape(-1)


def split_frames(pcm: npt.ArrayLike, frame_samples: int) -> tuple[list[Int16Array], Int16Array]:
    """Whole frames of ``frame_samples`` (views, not copies) and the leftover tail."""
    if frame_samples <= 0:
        raise ValueError("frame_samples must be positive")
    flat = as_int16(pcm)
    whole = len(flat) // frame_samples
    frames = [flat[i * frame_samples : (i + 1) * frame_samples] for i in range(whole)]
    return frames, flat[whole * frame_samples :]


def join_frames(frames: list[Int16Array] | tuple[Int16Array, ...]) -> Int16Array:
    """Concatenate frames back into one int16 signal."""
    if not frames:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate([as_int16(f) for f in frames]).astype(np.int16, copy=False)


def pad_to_frames(pcm: npt.ArrayLike, frame_samples: int) -> Int16Array:
    """``pcm`` zero-padded to a whole number of frames (for feeding a clip to a 10 ms consumer)."""
    flat = as_int16(pcm)
    short = (-len(flat)) % frame_samples
    if short == 0:
        return flat
    return np.concatenate([flat, np.zeros(short, dtype=np.int16)])


class FrameAssembler:
    """Re-blocks a stream of arbitrary-length int16 chunks into exact frames.

    LiveKit and PortAudio may hand over blocks of any size; APM and the AudioSource want
    10 ms frames, so the tail of each chunk waits here for the next one.
    """

    def __init__(self, frame_samples: int) -> None:
        if frame_samples <= 0:
            raise ValueError("frame_samples must be positive")
        self.frame_samples = frame_samples
        self._pending = np.zeros(frame_samples, dtype=np.int16)
        self._pending_len = 0

    @property
    def pending(self) -> int:
        """Samples waiting for the rest of their frame."""
        return self._pending_len

    def push(self, pcm: npt.ArrayLike) -> list[Int16Array]:
        """Add samples; return every frame (a fresh array each) completed by them."""
        flat = as_int16(pcm)
        out: list[Int16Array] = []
        pos = 0
        n = self.frame_samples
        if self._pending_len:
            take = min(n - self._pending_len, len(flat))
            self._pending[self._pending_len : self._pending_len + take] = flat[:take]
            self._pending_len += take
            pos = take
            if self._pending_len < n:
                return out
            out.append(self._pending.copy())
            self._pending_len = 0
        while len(flat) - pos >= n:
            out.append(flat[pos : pos + n].copy())
            pos += n
        rest = len(flat) - pos
        if rest:
            self._pending[:rest] = flat[pos:]
            self._pending_len = rest
        return out

    def reset(self) -> None:
        """Forget any partial frame."""
        self._pending_len = 0

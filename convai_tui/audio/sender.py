"""Hands microphone frames to a LiveKit ``AudioSource`` from the thread that captured them.

``rtc.AudioSource.capture_frame`` is a coroutine tied to an event loop: per 10 ms frame it arms
a timer, subscribes a queue and waits for the native completion event, i.e. two loop wake-ups
per frame (measured: most of the old pipeline's main-thread time, docs/BENCHMARKS.md). With
``queue_size_ms=0`` the native side takes the frame at once and the completion carries only an
error string, so this sends the very same FFI request synchronously, from PortAudio's thread,
and does not wait for the completion. It is the one place where the audio package uses the SDK
below its public API (``FfiClient`` and the request proto, as ``capture_frame`` itself does);
tests/unit/test_audio_sender.py pins what it relies on.

Samples are copied into a ring of preallocated slots: the native library reads the buffer
through a raw pointer, and (in some SDK versions) only once the request has been scheduled, so
a slot is reused only after ``slots`` further frames (640 ms at the default 64 × 10 ms).
"""

from __future__ import annotations

import numpy as np
from livekit import rtc
from livekit.rtc._ffi_client import FfiClient
from livekit.rtc._proto import ffi_pb2

from .framing import Int16Array


class DirectFrameSender:
    """``send(pcm)`` pushes one exact frame of mono int16 into ``source`` without an event loop."""

    def __init__(self, source: rtc.AudioSource, frame_samples: int, slots: int = 64) -> None:
        self._source = source
        self._ring = np.zeros((slots, frame_samples), dtype=np.int16)
        self._addresses = [int(self._ring[i].ctypes.data) for i in range(slots)]
        self._next = 0
        # One request message, reused: only the buffer address changes from frame to frame.
        self._request = ffi_pb2.FfiRequest()
        capture = self._request.capture_audio_frame
        capture.source_handle = source._ffi_handle.handle
        capture.buffer.sample_rate = source.sample_rate
        capture.buffer.num_channels = 1
        capture.buffer.samples_per_channel = frame_samples
        self.frames_sent = 0

    @property
    def closed(self) -> bool:
        return bool(self._source._ffi_handle.disposed)

    def send(self, pcm: Int16Array) -> None:
        """Copy one frame into the next slot and hand it to the native source (raises on an
        FFI failure; a closed source drops the frame silently)."""
        if self.closed:
            return
        slot = self._next
        self._next = (slot + 1) % len(self._addresses)
        self._ring[slot] = pcm
        self._request.capture_audio_frame.buffer.data_ptr = self._addresses[slot]
        FfiClient.instance.request(self._request)
        self.frames_sent += 1

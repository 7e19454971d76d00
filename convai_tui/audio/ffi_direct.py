"""The audio threads' per-frame calls into LiveKit's native library, without an event loop and
without per-frame protobuf work.

``rtc.AudioSource.capture_frame`` is a coroutine tied to an event loop: per 10 ms frame it arms
a timer, subscribes a queue and waits for the native completion event, i.e. two loop wake-ups
per frame (most of the old pipeline's main-thread time, docs/BENCHMARKS.md). With
``queue_size_ms=0`` the native side takes the frame at once and the completion carries only an
error string, so ``DirectFrameSender`` sends the same FFI request synchronously from PortAudio's
thread and does not wait for it. ``DirectApm`` runs the APM's ``process_stream`` and
``process_reverse_stream`` on fixed buffers. Both send requests serialized once (the buffers'
addresses never change), which takes each call from ~100 µs of Python to a single ctypes call.

This is the one place where the audio package uses the SDK below its public API (``FfiClient``,
its native library and the request protos, exactly as ``AudioSource`` and
``AudioProcessingModule`` use them); tests/unit/test_audio_ffi_direct.py pins what it relies on.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
from livekit import rtc
from livekit.rtc._ffi_client import FfiClient
from livekit.rtc._proto import ffi_pb2

from .framing import Int16Array


class FfiCallError(RuntimeError):
    """The native library refused a request (its error string is the message)."""


class RawFfiRequest:
    """One FFI request serialized once and sent as is, from any thread.

    ``send()`` returns the raw response bytes. ``check(response)`` (optional) returns an error
    string or None for a parsed response; identical responses are checked only once.
    """

    def __init__(self, request: ffi_pb2.FfiRequest, check: Any = None) -> None:
        data = request.SerializeToString()
        self._data = (ctypes.c_ubyte * len(data)).from_buffer_copy(data)
        self._len = len(data)
        self._resp_ptr = ctypes.POINTER(ctypes.c_ubyte)()
        self._resp_len = ctypes.c_size_t()
        self._resp_ptr_ref = ctypes.byref(self._resp_ptr)
        self._resp_len_ref = ctypes.byref(self._resp_len)
        self._check = check
        self._ok: bytes | None = None
        self._lib = FfiClient.instance._ffi_lib

    def send(self) -> bytes:
        handle = self._lib.livekit_ffi_request(self._data, self._len, self._resp_ptr_ref,
                                               self._resp_len_ref)
        if not handle:
            raise FfiCallError("the native library returned no response")
        response = ctypes.string_at(self._resp_ptr, self._resp_len.value)
        self._lib.livekit_ffi_drop_handle(handle)
        if self._check is not None and response != self._ok:
            parsed = ffi_pb2.FfiResponse()
            parsed.ParseFromString(response)
            error = self._check(parsed)
            if error:
                raise FfiCallError(error)
            self._ok = response
        return response


class DirectFrameSender:
    """``send(pcm)`` pushes one exact frame of mono int16 into ``source`` without an event loop.

    Samples are copied into a ring of preallocated slots, one prepared request each: the
    native library reads the buffer through a raw pointer (in some SDK versions only once the
    request has been scheduled), so a slot is reused only after ``slots`` further frames
    (640 ms at the default 64 × 10 ms).
    """

    def __init__(self, source: rtc.AudioSource, frame_samples: int, slots: int = 64) -> None:
        self._source = source
        self._ring = np.zeros((slots, frame_samples), dtype=np.int16)
        self._requests: list[RawFfiRequest] = []
        for i in range(slots):
            request = ffi_pb2.FfiRequest()
            capture = request.capture_audio_frame
            capture.source_handle = source._ffi_handle.handle
            capture.buffer.data_ptr = int(self._ring[i].ctypes.data)
            capture.buffer.sample_rate = source.sample_rate
            capture.buffer.num_channels = 1
            capture.buffer.samples_per_channel = frame_samples
            self._requests.append(RawFfiRequest(request))
        self._next = 0
        self.frames_sent = 0

    @property
    def closed(self) -> bool:
        return bool(self._source._ffi_handle.disposed)

    def send(self, pcm: Int16Array) -> None:
        """Copy one frame into the next slot and hand it to the native source (raises on an
        FFI failure or a frame of the wrong size; a closed source drops the frame silently)."""
        if self.closed:
            return
        slot = self._next
        self._next = (slot + 1) % len(self._requests)
        self._ring[slot] = pcm
        self._requests[slot].send()
        self.frames_sent += 1


class DirectApm:
    """WebRTC's APM (``rtc.AudioProcessingModule``) on two fixed 10 ms buffers.

    ``capture`` (near end: the microphone, processed in place) and ``reverse`` (far end: what
    is played) are int16 arrays to copy a frame into before calling ``process_capture()`` /
    ``process_reverse()``; each thread uses only its own buffer.
    """

    def __init__(self, apm: rtc.AudioProcessingModule, sample_rate: int,
                 frame_samples: int) -> None:
        self.apm = apm
        self.capture: Int16Array = np.zeros(frame_samples, dtype=np.int16)
        self.reverse: Int16Array = np.zeros(frame_samples, dtype=np.int16)
        handle = apm._ffi_handle.handle
        forward = ffi_pb2.FfiRequest()
        fwd = forward.apm_process_stream
        fwd.apm_handle = handle
        fwd.data_ptr = int(self.capture.ctypes.data)
        fwd.size = self.capture.nbytes
        fwd.sample_rate = sample_rate
        fwd.num_channels = 1
        backward = ffi_pb2.FfiRequest()
        rev = backward.apm_process_reverse_stream
        rev.apm_handle = handle
        rev.data_ptr = int(self.reverse.ctypes.data)
        rev.size = self.reverse.nbytes
        rev.sample_rate = sample_rate
        rev.num_channels = 1
        self._forward = RawFfiRequest(forward, lambda r: r.apm_process_stream.error)
        self._backward = RawFfiRequest(backward, lambda r: r.apm_process_reverse_stream.error)

    def set_stream_delay_ms(self, delay_ms: int) -> None:
        self.apm.set_stream_delay_ms(delay_ms)

    def process_capture(self) -> None:
        """Process ``capture`` in place (echo cancellation, noise suppression, AGC)."""
        self._forward.send()

    def process_reverse(self) -> None:
        """Feed ``reverse`` to the echo canceller as the far-end reference."""
        self._backward.send()

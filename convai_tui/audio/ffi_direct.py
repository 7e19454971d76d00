"""The audio threads' per-frame calls into LiveKit's native library, without an event loop and
without per-frame protobuf work.

``rtc.AudioSource.capture_frame`` is a coroutine tied to an event loop: per 10 ms frame it arms
a timer, subscribes a queue and waits for the native completion event, i.e. two loop wake-ups
per frame (most of the old pipeline's main-thread time, docs/BENCHMARKS.md). With
``queue_size_ms=0`` the native side takes the frame at once and the completion carries only an
error string, so ``DirectFrameSender`` sends the same FFI request synchronously from PortAudio's
thread and does not wait for it; ``keep_capture_completions_off_the_loop`` stops those
completions from waking the room's event loop as well. ``DirectAudioStream`` takes the character's frames on the
native library's callback thread instead of scheduling each onto a loop. ``DirectApm`` runs the APM's ``process_stream`` and
``process_reverse_stream`` on fixed buffers. Both send requests serialized once (the buffers'
addresses never change), which takes each call from ~100 µs of Python to a single ctypes call.

This is the one place where the audio package uses the SDK below its public API (``FfiClient``,
its native library and the request protos, exactly as ``AudioSource`` and
``AudioProcessingModule`` use them); tests/unit/audio/test_ffi_direct.py pins what it relies on.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
from livekit import rtc
from livekit.rtc._ffi_client import FfiClient, FfiHandle
from livekit.rtc._proto import audio_frame_pb2, ffi_pb2

from .dsp.framing import Int16Array


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
        handle = self._lib.livekit_ffi_request(
            self._data, self._len, self._resp_ptr_ref, self._resp_len_ref
        )
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

    def __init__(
        self, apm: rtc.AudioProcessingModule, sample_rate: int, frame_samples: int
    ) -> None:
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


class _SkipCaptureCompletions:
    """The room's event filter, minus the ``capture_audio_frame`` completions: the room has no
    use for them (``AudioSource.capture_frame`` waits on a queue of its own), yet each one
    would wake the event loop and pass through ``Room._listen_task`` 100 times a second."""

    def __init__(self, keep: Any) -> None:
        self.keep = keep

    def __call__(self, event: Any) -> bool:
        if event.WhichOneof("message") == "capture_audio_frame":
            return False
        return self.keep is None or bool(self.keep(event))


def keep_capture_completions_off_the_loop(room: rtc.Room) -> bool:
    """Filter the native completions of mic frames out of ``room``'s event subscription
    (``Room.connect`` creates it); True once done, False if the room has none."""
    room_queue = getattr(room, "_ffi_queue", None)
    queue = FfiClient.instance.queue
    with queue._lock:
        subscribers = queue._subscribers
        for i, (subscribed, loop, keep) in enumerate(subscribers):
            if subscribed is room_queue:
                if not isinstance(keep, _SkipCaptureCompletions):
                    subscribers[i] = (subscribed, loop, _SkipCaptureCompletions(keep))
                return True
    return False


class _RunInline:
    """Stands in for the event loop ``FfiQueue.put`` hands events to: instead of scheduling
    ``queue.put_nowait(event)`` on a loop, it hands the event to ``deliver`` right away, on
    the native library's callback thread (which already holds the GIL to parse the event)."""

    def __init__(self, deliver: Any) -> None:
        self._deliver = deliver

    def call_soon_threadsafe(self, _callback: Any, event: Any) -> None:
        self._deliver(event)


class DirectAudioStream:
    """A remote audio track as mono int16 frames handed to ``on_frame(pcm)`` on LiveKit's
    callback thread: no event loop, no wake-up per frame.

    ``rtc.AudioStream`` schedules every 10 ms frame onto an asyncio loop (a loop wake-up, two
    task switches and a frame object per frame); this asks for the same native stream and
    takes each frame where the native library delivers it. ``pcm`` is a view of the native
    buffer, valid only during the call (copy what you keep); ``on_frame`` must be quick and
    must not call into LiveKit. Errors in it are counted in ``errors``, never raised there.

    ``frame_ms`` is how much audio each call carries (LiveKit's default when None: 10 ms).
    Each call costs the native side a wake-up and this thread the GIL, so a larger frame costs
    less per second of audio and delays its first sample by the difference.
    """

    def __init__(
        self, track: rtc.Track, sample_rate: int, on_frame: Any, frame_ms: int | None = None
    ) -> None:
        request = ffi_pb2.FfiRequest()
        new = request.new_audio_stream
        new.track_handle = track._ffi_handle.handle
        new.sample_rate = sample_rate
        new.num_channels = 1
        new.queue_size_frames = 0
        if frame_ms is not None:
            new.frame_size_ms = frame_ms
        new.type = audio_frame_pb2.AudioStreamType.AUDIO_STREAM_NATIVE
        response = FfiClient.instance.request(request)
        stream = response.new_audio_stream.stream
        self._handle = FfiHandle(stream.handle.id)
        self._on_frame = on_frame
        self._lib = FfiClient.instance._ffi_lib
        self.frames = 0
        self.errors = 0
        handle_id = stream.handle.id
        self._queue: Any = FfiClient.instance.queue.subscribe(
            _RunInline(self._deliver),  # type: ignore[arg-type]
            filter_fn=lambda e: (
                e.WhichOneof("message") == "audio_stream_event"
                and e.audio_stream_event.stream_handle == handle_id
            ),
        )

    def _deliver(self, event: Any) -> None:
        received = event.audio_stream_event
        if not received.HasField("frame_received"):
            return  # end of stream: the pipeline learns of it from track_unsubscribed
        owned = received.frame_received.frame
        try:
            info = owned.info
            count = info.num_channels * info.samples_per_channel
            samples = (ctypes.c_int16 * count).from_address(info.data_ptr)
            pcm: Int16Array = np.frombuffer(samples, dtype=np.int16)
            if info.num_channels > 1:
                pcm = pcm[:: info.num_channels]
            self.frames += 1
            self._on_frame(pcm)
        except Exception:
            self.errors += 1
        finally:
            self._lib.livekit_ffi_drop_handle(owned.handle.id)

    def close(self) -> None:
        """Stop delivering and release the native stream; safe to call twice."""
        queue, self._queue = self._queue, None
        if queue is not None:
            FfiClient.instance.queue.unsubscribe(queue)
        self._handle.dispose()

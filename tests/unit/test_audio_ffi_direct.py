"""DirectFrameSender and DirectApm (per-frame native calls without an event loop) and
AudioLoopThread."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
from livekit import rtc
from livekit.rtc._ffi_client import FfiClient
from livekit.rtc._proto import ffi_pb2

from convai_tui.audio.audio_thread import THREAD_NAME, AudioLoopThread
from convai_tui.audio.ffi_direct import DirectApm, DirectFrameSender, FfiCallError, RawFfiRequest
from convai_tui.audio.synth import tone


def test_sdk_still_has_what_the_direct_sender_relies_on() -> None:
    # DirectFrameSender builds the same request AudioSource.capture_frame does; if a livekit
    # upgrade renames these, this fails here rather than as silently dropped mic frames.
    request = ffi_pb2.FfiRequest()
    buffer = request.capture_audio_frame.buffer
    for field in ("data_ptr", "sample_rate", "num_channels", "samples_per_channel"):
        assert hasattr(buffer, field)
    assert hasattr(request.capture_audio_frame, "source_handle")
    lib = FfiClient.instance._ffi_lib
    assert callable(lib.livekit_ffi_request) and callable(lib.livekit_ffi_drop_handle)
    apm = ffi_pb2.FfiRequest()
    for field in ("apm_handle", "data_ptr", "size", "sample_rate", "num_channels"):
        assert hasattr(apm.apm_process_stream, field)
        assert hasattr(apm.apm_process_reverse_stream, field)


async def test_sender_sends_from_another_thread_and_stops_at_close() -> None:
    source = rtc.AudioSource(48_000, 1, queue_size_ms=0, loop=asyncio.get_running_loop())
    sender = DirectFrameSender(source, 480, slots=4)
    assert source._ffi_handle.handle != 0 and not sender.closed
    voice = tone(440.0, 0.01, amplitude=0.25)
    thread = threading.Thread(target=lambda: [sender.send(voice) for _ in range(10)])
    thread.start()
    thread.join()
    assert sender.frames_sent == 10
    # The ring holds the last frames sent, each in its own slot (the native side may read late).
    assert np.array_equal(sender._ring[(10 - 1) % 4], voice)
    await source.aclose()
    assert sender.closed
    sender.send(voice)
    assert sender.frames_sent == 10


def test_sender_rejects_a_frame_of_the_wrong_size() -> None:
    loop = asyncio.new_event_loop()
    try:
        source = rtc.AudioSource(48_000, 1, queue_size_ms=0, loop=loop)
        sender = DirectFrameSender(source, 480)
        with pytest.raises(ValueError):
            sender.send(np.zeros(960, dtype=np.int16))
        assert sender.frames_sent == 0
    finally:
        loop.close()


def test_direct_apm_processes_like_the_sdk_call() -> None:
    settings = dict(echo_cancellation=True, noise_suppression=True, high_pass_filter=True,
                    auto_gain_control=True)
    ours = DirectApm(rtc.AudioProcessingModule(**settings), 48_000, 480)
    sdk = rtc.AudioProcessingModule(**settings)
    speech = tone(300.0, 0.5, amplitude=0.3)
    for i in range(50):
        chunk = speech[480 * i: 480 * (i + 1)]
        ours.reverse[:] = 0
        ours.process_reverse()
        ours.capture[:] = chunk
        ours.process_capture()
        frame = rtc.AudioFrame(bytearray(chunk.tobytes()), 48_000, 1, 480)
        sdk.process_reverse_stream(rtc.AudioFrame(bytearray(960), 48_000, 1, 480))
        sdk.process_stream(frame)
        # Same module, same input: the same output, sample for sample.
        assert np.array_equal(ours.capture, np.frombuffer(frame.data.cast("B"), np.int16))
    assert ours.capture.any()


def test_a_request_the_native_library_refuses_raises_instead_of_crashing() -> None:
    request = ffi_pb2.FfiRequest()
    stream = request.apm_process_stream
    stream.apm_handle, stream.size, stream.sample_rate, stream.num_channels = 987654, 960, 48_000, 1
    stream.data_ptr = 0
    with pytest.raises(FfiCallError):  # no such APM handle
        RawFfiRequest(request, lambda r: r.apm_process_stream.error).send()


async def test_audio_loop_thread_runs_coroutines_on_its_own_named_thread() -> None:
    audio = AudioLoopThread()
    audio.start()
    assert audio.running

    async def where() -> tuple[str, bool]:
        return threading.current_thread().name, asyncio.get_running_loop().is_running()

    try:
        assert await audio.run(where()) == (THREAD_NAME, True)
        forever = audio.submit(asyncio.sleep(3600))
    finally:
        audio.stop()
    assert not audio.running and forever.cancelled()
    with pytest.raises(RuntimeError):
        audio.submit(where())
    audio.stop()  # twice is fine

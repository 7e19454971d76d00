"""DirectFrameSender, DirectApm, DirectAudioStream: per-frame native calls without an event loop."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from livekit import rtc
from livekit.rtc._ffi_client import FfiClient
from livekit.rtc._proto import ffi_pb2

from convai_tui.audio.dsp.synth import tone
from convai_tui.audio.ffi_direct import (
    DirectApm,
    DirectAudioStream,
    DirectFrameSender,
    FfiCallError,
    RawFfiRequest,
    keep_capture_completions_off_the_loop,
)


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

    def send_ten() -> None:
        for _ in range(10):
            sender.send(voice)

    thread = threading.Thread(target=send_ten)
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
    settings = dict(
        echo_cancellation=True,
        noise_suppression=True,
        high_pass_filter=True,
        auto_gain_control=True,
    )
    ours = DirectApm(rtc.AudioProcessingModule(**settings), 48_000, 480)
    sdk = rtc.AudioProcessingModule(**settings)
    speech = tone(300.0, 0.5, amplitude=0.3)
    for i in range(50):
        chunk = speech[480 * i : 480 * (i + 1)]
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


async def test_direct_audio_stream_hands_frames_over_on_livekits_thread() -> None:
    source = rtc.AudioSource(48_000, 1, queue_size_ms=0, loop=asyncio.get_running_loop())
    track = rtc.LocalAudioTrack.create_audio_track("loop", source)
    got: list[np.ndarray] = []
    threads: set[str] = set()

    def on_frame(pcm: np.ndarray) -> None:
        got.append(pcm.copy())
        threads.add(threading.current_thread().name)

    stream = DirectAudioStream(track, 48_000, on_frame)
    sender = DirectFrameSender(source, 480)
    voice = tone(440.0, 0.01, amplitude=0.25)
    for _ in range(20):
        sender.send(voice)
    for _ in range(500):  # up to 5 s for the native side to deliver them
        if len(got) >= 20:
            break
        await asyncio.sleep(0.01)
    stream.close()
    assert len(got) >= 20 and stream.frames == len(got) and stream.errors == 0
    assert threading.current_thread().name not in threads  # not this (the loop's) thread
    assert all(len(frame) == 480 for frame in got)
    assert np.abs(got[-1]).max() == np.abs(voice).max()
    delivered = stream.frames
    sender.send(voice)
    await asyncio.sleep(0.05)
    assert stream.frames == delivered  # closed: nothing more
    stream.close()  # twice is fine


async def test_mic_frame_completions_stop_reaching_the_rooms_loop() -> None:
    loop = asyncio.get_running_loop()
    queue = FfiClient.instance.queue

    def room_subscription() -> Any:  # what Room.connect subscribes, with its filter
        return queue.subscribe(
            loop,
            filter_fn=lambda e: (
                e.WhichOneof("message") not in ("audio_stream_event", "video_stream_event")
            ),
        )

    def kinds(received: Any) -> list[str | None]:
        out = []
        while not received.empty():
            out.append(received.get_nowait().WhichOneof("message"))
        return out

    source = rtc.AudioSource(48_000, 1, queue_size_ms=0, loop=loop)
    sender = DirectFrameSender(source, 480)
    plain, filtered = room_subscription(), room_subscription()
    room: Any = SimpleNamespace(_ffi_queue=filtered)
    try:
        assert keep_capture_completions_off_the_loop(room)
        assert keep_capture_completions_off_the_loop(room)  # twice is fine
        for _ in range(5):
            sender.send(tone(440.0, 0.01, amplitude=0.25))
        for _ in range(200):  # up to 2 s for the native completions
            if plain.qsize() >= 5:
                break
            await asyncio.sleep(0.01)
        assert kinds(plain).count("capture_audio_frame") == 5
        assert "capture_audio_frame" not in kinds(filtered)
        other = ffi_pb2.FfiEvent()
        other.room_event.room_handle = 1
        queue.put(other)
        await asyncio.sleep(0)
        assert kinds(filtered) == ["room_event"]  # the room's own events still arrive
    finally:
        queue.unsubscribe(plain)
        queue.unsubscribe(filtered)
        await source.aclose()
    unconnected: Any = SimpleNamespace()
    assert not keep_capture_completions_off_the_loop(unconnected)

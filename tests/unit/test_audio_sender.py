"""DirectFrameSender (mic frames to LiveKit without an event loop) and AudioLoopThread."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
from livekit import rtc
from livekit.rtc._ffi_client import FfiClient
from livekit.rtc._proto import ffi_pb2

from convai_tui.audio.audio_thread import THREAD_NAME, AudioLoopThread
from convai_tui.audio.sender import DirectFrameSender
from convai_tui.audio.synth import tone


def test_sdk_still_has_what_the_direct_sender_relies_on() -> None:
    # DirectFrameSender builds the same request AudioSource.capture_frame does; if a livekit
    # upgrade renames these, this fails here rather than as silently dropped mic frames.
    request = ffi_pb2.FfiRequest()
    buffer = request.capture_audio_frame.buffer
    for field in ("data_ptr", "sample_rate", "num_channels", "samples_per_channel"):
        assert hasattr(buffer, field)
    assert hasattr(request.capture_audio_frame, "source_handle")
    assert callable(FfiClient.instance.request)


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
